/**
 * One SQLite-backed Durable Object per (source, account): the dedupe authority, the durable
 * store and the account's FIFO outbox. A claim is one `INSERT ... ON CONFLICT DO NOTHING`,
 * made before any outbound I/O, and it returns only after the row is durable, so the Worker
 * acks the provider only for stored events. `alarm()` delivers the outbox in arrival order;
 * a failing head blocks only this account.
 */
import { DurableObject } from "cloudflare:workers";
import { loadConfig } from "../config";
import { type AttemptOutcome, deliverOnce, RETRY, retryDelayMs } from "../delivery";
import type { Replay } from "../providers/provider";
import { type EventRow, LEDGER_SCHEMA } from "./schema";

export interface AcceptInput {
  readonly id: string;
  readonly source: string;
  readonly idempotencyKey: string;
  readonly type: string;
  /** The CloudEvent JSON to send. */
  readonly body: string;
  readonly receivedAt: number;
  /** A signed nonce to record; a repeat is refused as a replay. */
  readonly replay?: Replay;
}

export interface QuarantineInput {
  readonly id: string;
  readonly source: string;
  readonly idempotencyKey: string;
  readonly reason: string;
  readonly raw: Uint8Array;
  readonly receivedAt: number;
  readonly replay?: Replay;
}

export type ClaimResult = { stored: true; duplicate: boolean; replayed?: never } | { replayed: true; stored?: never; duplicate?: never };

/** How long one alarm run may keep delivering before it yields and re-arms itself. */
const ALARM_BUDGET_MS = 20_000;

export class AccountLedger extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private delivering = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    for (const statement of LEDGER_SCHEMA) this.sql.exec(statement);
  }

  /** Claims and stores a verified, normalized event; schedules delivery if it is new. */
  async accept(input: AcceptInput): Promise<ClaimResult> {
    if (input.replay !== undefined && !this.recordNonce(input.replay, input.receivedAt)) return { replayed: true };
    const inserted = this.sql
      .exec(
        `INSERT INTO events (id, source, idempotency_key, type, state, body, received_at, next_attempt_at)
         VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)
         ON CONFLICT (id) DO NOTHING RETURNING seq`,
        input.id,
        input.source,
        input.idempotencyKey,
        input.type,
        input.body,
        input.receivedAt,
        input.receivedAt,
      )
      .toArray();
    if (inserted.length > 0) await this.ensureAlarm();
    return { stored: true, duplicate: inserted.length === 0 };
  }

  /** Stores a verified callback the adapters could not read: kept raw, never forwarded. */
  async quarantine(input: QuarantineInput): Promise<ClaimResult> {
    if (input.replay !== undefined && !this.recordNonce(input.replay, input.receivedAt)) return { replayed: true };
    const inserted = this.sql
      .exec(
        `INSERT INTO events (id, source, idempotency_key, state, raw, reason, received_at)
         VALUES (?, ?, ?, 'quarantined', ?, ?, ?)
         ON CONFLICT (id) DO NOTHING RETURNING seq`,
        input.id,
        input.source,
        input.idempotencyKey,
        input.raw,
        input.reason,
        input.receivedAt,
      )
      .toArray();
    return { stored: true, duplicate: inserted.length === 0 };
  }

  /** Lists this account's events, oldest first (operator views and tests). */
  async events(limit = 100): Promise<EventRow[]> {
    return this.sql
      .exec<Record<string, SqlStorageValue>>(
        `SELECT seq, id, source, idempotency_key, type, state, body, reason, received_at, attempts,
                next_attempt_at, last_status, delivered_at
         FROM events ORDER BY seq LIMIT ?`,
        limit,
      )
      .toArray() as unknown as EventRow[];
  }

  /**
   * Delivers the outbox head first, in order. An alarm only fires when the head is due: new
   * events arm it only when none is set, and a failed head re-arms it at its retry time.
   */
  override async alarm(): Promise<void> {
    // One delivery loop per object: the running loop re-reads the head after every event, so a
    // second entry (a test's forced alarm, or a retried alarm) has nothing to add, and two loops
    // would send the same head twice.
    if (this.delivering) return;
    this.delivering = true;
    try {
      await this.deliverOutbox();
    } finally {
      this.delivering = false;
    }
  }

  private async deliverOutbox(): Promise<void> {
    const started = Date.now();
    for (;;) {
      const head = this.sql
        .exec<{ seq: number; id: string; source: string; body: string; attempts: number }>(
          "SELECT seq, id, source, body, attempts FROM events WHERE state = 'pending' ORDER BY seq LIMIT 1",
        )
        .toArray()[0];
      if (head === undefined) return;
      if (Date.now() - started > ALARM_BUDGET_MS) {
        await this.ctx.storage.setAlarm(Date.now());
        return;
      }
      const outcome = await this.attempt(head);
      const retryAt = this.record(head, outcome);
      if (retryAt !== undefined) {
        await this.ctx.storage.setAlarm(retryAt);
        return;
      }
    }
  }

  private async attempt(head: { id: string; source: string; body: string }): Promise<AttemptOutcome> {
    const loaded = loadConfig(this.env);
    const source = loaded.ok ? loaded.config.sources.get(head.source) : undefined;
    if (!loaded.ok || source === undefined) {
      // Configuration is broken or the source was removed: keep the event and try later.
      return { kind: "retry", error: "configuration unavailable" };
    }
    return deliverOnce(source.originUrl, loaded.config.originSecret, head, Date.now(), loaded.config.deliveryTimeoutMs);
  }

  /** Writes an attempt's outcome; returns when to retry, or undefined to go on with the next event. */
  private record(head: { seq: number; attempts: number }, outcome: AttemptOutcome): number | undefined {
    const now = Date.now();
    const attempts = head.attempts + 1;
    const status = "status" in outcome ? (outcome.status ?? null) : null;
    if (outcome.kind === "delivered") {
      this.sql.exec(
        "UPDATE events SET state = 'delivered', attempts = ?, last_status = ?, delivered_at = ?, next_attempt_at = NULL, reason = NULL WHERE seq = ?",
        attempts,
        status,
        now,
        head.seq,
      );
      return undefined;
    }
    // An origin's Retry-After is honoured, but never beyond the schedule's cap.
    const retryAfter =
      outcome.kind === "retry" && outcome.retryAfterMs !== undefined ? Math.min(outcome.retryAfterMs, RETRY.capMs) : undefined;
    const delay = outcome.kind === "retry" ? (retryAfter ?? retryDelayMs(attempts, Math.random())) : undefined;
    const giveUp = outcome.kind === "rejected" || delay === undefined || retryDelayMs(attempts, 0) === undefined;
    if (giveUp) {
      this.sql.exec(
        "UPDATE events SET state = 'dead', attempts = ?, last_status = ?, reason = ?, next_attempt_at = NULL WHERE seq = ?",
        attempts,
        status,
        outcome.error,
        head.seq,
      );
      return undefined;
    }
    const retryAt = now + delay;
    this.sql.exec(
      "UPDATE events SET attempts = ?, last_status = ?, reason = ?, next_attempt_at = ? WHERE seq = ?",
      attempts,
      status,
      outcome.error,
      retryAt,
      head.seq,
    );
    return retryAt;
  }

  /**
   * Records a signed nonce; false if it is already recorded and not yet expired. Runs in the same
   * synchronous block as the claim, so a replay can never slip between the check and the write.
   */
  private recordNonce(replay: Replay, now: number): boolean {
    this.sql.exec("DELETE FROM nonces WHERE expires_at < ?", now);
    const fresh = this.sql
      .exec(
        "INSERT INTO nonces (nonce, expires_at) VALUES (?, ?) ON CONFLICT (nonce) DO NOTHING RETURNING nonce",
        replay.nonce,
        replay.expiresAt,
      )
      .toArray();
    return fresh.length > 0;
  }

  private async ensureAlarm(): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now());
  }
}
