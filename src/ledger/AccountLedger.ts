/**
 * One SQLite-backed Durable Object per (source, account): the dedupe authority, the durable
 * store and the account's FIFO outbox. A claim is one `INSERT ... ON CONFLICT DO NOTHING`,
 * made before any outbound I/O, and it returns only after the row is durable, so the Worker
 * acks the provider only for stored events. `alarm()` delivers the outbox in arrival order
 * (a failing head blocks only this account), indexes dead letters and quarantined events for
 * operators, and prunes what retention no longer needs.
 * Two pseudo-accounts use the same class: `~quarantine` (a source's unreadable callbacks) and
 * `~stats` (a source's counters).
 */
import { DurableObject } from "cloudflare:workers";
import { type GatewayConfig, loadConfig } from "../config";
import { type AttemptOutcome, deliverOnce, RETRY, retryDelayMs } from "../delivery";
import { log } from "../log";
import { addToIndex, type IndexKind, removeFromIndex } from "../ops-index";
import type { Replay } from "../providers/provider";
import { type Counter, type Counts, count, flushIfDue } from "../stats";
import { type AttemptRow, type EventRow, MIGRATIONS } from "./schema";

export interface AcceptInput {
  readonly id: string;
  readonly source: string;
  readonly account: string;
  readonly idempotencyKey: string;
  /** The id 0.1 gave this event; checked only by objects that hold events stored then. */
  readonly legacyId?: string;
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
  readonly account: string;
  readonly idempotencyKey: string;
  readonly reason: string;
  readonly raw: Uint8Array;
  readonly receivedAt: number;
  readonly replay?: Replay;
}

export type ClaimResult = (
  | { stored: true; duplicate: boolean; replayed?: never }
  | { replayed: true; stored?: never; duplicate?: never }
) & {
  /** SQLite rows this call read and wrote, for the billable-operations counters. */
  usage?: Counts;
};

export interface QuarantinedEvent {
  readonly seq: number;
  readonly id: string;
  readonly reason: string;
  readonly receivedAt: number;
  readonly raw: Uint8Array;
}

/** How long one alarm run may keep delivering before it yields and re-arms itself. */
const ALARM_BUDGET_MS = 20_000;
const EVENT_COLUMNS =
  "seq, id, source, idempotency_key, type, state, body, reason, received_at, attempts, next_attempt_at, last_status, delivered_at";

export class AccountLedger extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private delivering = false;
  /** Cursors since the last `takeUsage()`: their row counts are what SQLite bills. */
  private cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.migrate();
  }

  /** Runs a statement, keeping its cursor so the rows it read and wrote can be counted. */
  private exec<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): SqlStorageCursor<T> {
    const cursor = this.sql.exec<T>(query, ...bindings);
    this.cursors.push(cursor);
    return cursor;
  }

  /** SQLite rows read and written since the last call (the billable units of SQLite storage). */
  private takeUsage(): Counts {
    const usage = { sql_rows_read: 0, sql_rows_written: 0 };
    for (const cursor of this.cursors) {
      usage.sql_rows_read += cursor.rowsRead;
      usage.sql_rows_written += cursor.rowsWritten;
    }
    this.cursors = [];
    return usage;
  }

  private migrate(): void {
    this.exec("CREATE TABLE IF NOT EXISTS _meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    const done = Number(this.meta("schema") ?? 0);
    for (let version = done; version < MIGRATIONS.length; version++) {
      for (const statement of MIGRATIONS[version] ?? []) this.exec(statement);
      this.setMeta("schema", String(version + 1));
    }
  }

  private meta(key: string): string | undefined {
    return this.exec<{ value: string }>("SELECT value FROM _meta WHERE key = ?", key).toArray()[0]?.value;
  }

  private setMeta(key: string, value: string): void {
    this.exec("INSERT INTO _meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value);
  }

  /**
   * The (source, account) this object serves, learnt from its first write. It never changes, so
   * it is read from `_meta` once per wake and kept in memory (every delivery logs it).
   */
  private known?: { source: string; account: string };
  private identity(): { source: string; account: string } | undefined {
    if (this.known === undefined) {
      const source = this.meta("source");
      const account = this.meta("account");
      if (source !== undefined && account !== undefined) this.known = { source, account };
    }
    return this.known;
  }

  private remember(source: string, account: string): void {
    if (this.identity() === undefined) {
      this.setMeta("source", source);
      this.setMeta("account", account);
      this.known = { source, account };
    }
  }

  /** Whether this object holds events stored under 0.1 ids (read once per wake; never changes). */
  private holdsLegacyIds?: boolean;

  /** Whether anything is pending: one index probe, not a count that grows with the outbox. */
  private hasPending(): boolean {
    return this.exec("SELECT 1 FROM events WHERE state = 'pending' LIMIT 1").toArray().length > 0;
  }

  // -------------------------------------------------------------------------------------------
  // Ingress

  /** Claims and stores a verified, normalized event; schedules delivery if it is new. */
  async accept(input: AcceptInput): Promise<ClaimResult> {
    this.takeUsage();
    if (input.replay !== undefined && !this.recordNonce(input.replay, input.receivedAt)) return { replayed: true, usage: this.takeUsage() };
    this.remember(input.source, input.account);
    this.holdsLegacyIds ??= this.meta("legacy_ids") === "1";
    if (input.legacyId !== undefined && this.holdsLegacyIds) {
      const seen = this.exec("SELECT 1 FROM events WHERE id = ?", input.legacyId).toArray().length > 0;
      if (seen) return { stored: true, duplicate: true, usage: this.takeUsage() };
    }
    const outboxWasEmpty = !this.hasPending();
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
    // A non-empty outbox already has its alarm at the head's due time (or a run in progress,
    // which picks the new row up); only a first pending event needs one now.
    if (inserted.length > 0 && outboxWasEmpty) await this.ctx.storage.setAlarm(Date.now());
    return { stored: true, duplicate: inserted.length === 0, usage: this.takeUsage() };
  }

  /** Stores a verified callback the adapters could not read: kept raw, never forwarded. */
  async quarantine(input: QuarantineInput): Promise<ClaimResult> {
    this.takeUsage();
    if (input.replay !== undefined && !this.recordNonce(input.replay, input.receivedAt)) return { replayed: true, usage: this.takeUsage() };
    this.remember(input.source, input.account);
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
    // The alarm writes the operators' index entry (and retries it if KV fails).
    if (inserted.length > 0) await this.ctx.storage.setAlarm(Date.now());
    return { stored: true, duplicate: inserted.length === 0, usage: this.takeUsage() };
  }

  /**
   * Records a signed nonce; false if it is already recorded and not yet expired. Runs in the same
   * synchronous block as the claim, so a replay can never slip between the check and the write.
   */
  private recordNonce(replay: Replay, now: number): boolean {
    this.exec("DELETE FROM nonces WHERE expires_at < ?", now);
    const fresh = this.sql
      .exec(
        "INSERT INTO nonces (nonce, expires_at) VALUES (?, ?) ON CONFLICT (nonce) DO NOTHING RETURNING nonce",
        replay.nonce,
        replay.expiresAt,
      )
      .toArray();
    return fresh.length > 0;
  }

  // -------------------------------------------------------------------------------------------
  // Operators (src/admin.ts)

  /** This account's events, oldest first, optionally from a time on and in one state. */
  async events(options: { limit?: number; afterSeq?: number; since?: number; state?: string } | number = {}): Promise<EventRow[]> {
    const o = typeof options === "number" ? { limit: options } : options;
    return this.sql
      .exec(
        `SELECT ${EVENT_COLUMNS} FROM events
         WHERE seq > ? AND received_at >= ? AND (? IS NULL OR state = ?)
         ORDER BY seq LIMIT ?`,
        o.afterSeq ?? 0,
        o.since ?? 0,
        o.state ?? null,
        o.state ?? null,
        Math.min(o.limit ?? 100, 1000),
      )
      .toArray() as unknown as EventRow[];
  }

  /** One event with all its delivery attempts. */
  async event(id: string): Promise<{ event: EventRow; attempts: AttemptRow[] } | undefined> {
    const event = this.exec(`SELECT ${EVENT_COLUMNS} FROM events WHERE id = ?`, id).toArray()[0] as unknown as EventRow | undefined;
    if (event === undefined) return undefined;
    const attempts = this.exec(
      "SELECT attempt, at, outcome, status, error, ms FROM attempts WHERE event_seq = ? ORDER BY attempt",
      event.seq,
    ).toArray() as unknown as AttemptRow[];
    if (event.delivered_at !== null) {
      attempts.push({
        attempt: event.attempts,
        at: event.delivered_at,
        outcome: "delivered",
        status: event.last_status,
        error: null,
        ms: null,
      });
    }
    return { event, attempts };
  }

  /**
   * Puts a dead (or backing-off) event back at its place in the outbox, due now. Its `seq` is
   * unchanged, so it goes before newer events of the account: FIFO holds.
   */
  async redeliver(id: string): Promise<"queued" | "not_found" | "not_redeliverable"> {
    const row = this.sql
      .exec<{ seq: number; state: string; body: string | null }>("SELECT seq, state, body FROM events WHERE id = ?", id)
      .toArray()[0];
    if (row === undefined) return "not_found";
    if ((row.state !== "dead" && row.state !== "pending" && row.state !== "delivered") || row.body === null) return "not_redeliverable";
    this.exec("UPDATE events SET state = 'pending', next_attempt_at = ?, indexed = 0 WHERE seq = ?", Date.now(), row.seq);
    const identity = this.identity();
    if (row.state === "dead" && identity !== undefined) await removeFromIndex(this.env.OPS_INDEX, "dead", { ...identity, id });
    await this.ctx.storage.setAlarm(Date.now());
    return "queued";
  }

  /**
   * Sends again every delivered event received since `since` (Unix ms), in order, with its
   * original id: origins that dedupe on webhook-id should clear their record first.
   */
  async replay(since: number): Promise<number> {
    const changed = this.sql
      .exec(
        "UPDATE events SET state = 'pending', next_attempt_at = ? WHERE state = 'delivered' AND body IS NOT NULL AND received_at >= ? RETURNING seq",
        Date.now(),
        since,
      )
      .toArray().length;
    if (changed > 0) await this.ctx.storage.setAlarm(Date.now());
    return changed;
  }

  /** Quarantined callbacks with their raw bytes, oldest first, after `afterSeq` (for re-processing). */
  async quarantined(limit = 100, afterSeq = 0): Promise<QuarantinedEvent[]> {
    return this.sql
      .exec<{ seq: number; id: string; reason: string; received_at: number; raw: ArrayBuffer }>(
        "SELECT seq, id, reason, received_at, raw FROM events WHERE state = 'quarantined' AND seq > ? ORDER BY seq LIMIT ?",
        afterSeq,
        Math.min(limit, 500),
      )
      .toArray()
      .map((row) => ({ seq: row.seq, id: row.id, reason: row.reason, receivedAt: row.received_at, raw: new Uint8Array(row.raw) }));
  }

  /** The bytes received for a quarantined (or re-processed) callback. */
  async raw(id: string): Promise<Uint8Array | undefined> {
    const row = this.exec<{ raw: ArrayBuffer | null }>("SELECT raw FROM events WHERE id = ?", id).toArray()[0];
    return row?.raw ? new Uint8Array(row.raw) : undefined;
  }

  /** Marks a quarantined callback as re-processed (its event now lives in its account's ledger). */
  async markReprocessed(id: string, outcome: string): Promise<void> {
    this.exec("UPDATE events SET state = 'reprocessed', reason = ? WHERE id = ? AND state = 'quarantined'", outcome, id);
    const identity = this.identity();
    if (identity !== undefined) await removeFromIndex(this.env.OPS_INDEX, "quarantine", { ...identity, id });
  }

  /** Adds to this (stats) object's counters. */
  async addCounters(deltas: Counts): Promise<void> {
    for (const [name, value] of Object.entries(deltas)) {
      this.exec(
        "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
        name,
        value,
      );
    }
  }

  async counters(): Promise<Record<string, number>> {
    return Object.fromEntries(
      this.sql
        .exec<{ name: string; value: number }>("SELECT name, value FROM counters")
        .toArray()
        .map((r) => [r.name, r.value]),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Alarm: deliver, index, prune

  /**
   * Delivers the outbox head first, in order. While events are pending the alarm sits at the
   * head's due time (a new event arms it only when the outbox was empty; a failed head re-arms
   * it at its retry time), so an alarm with a pending head means the head is due. With nothing
   * pending, the alarm is kept for the next retention prune.
   */
  override async alarm(): Promise<void> {
    // One delivery loop per object: the running loop re-reads the head after every event, so a
    // second entry (a test's forced alarm, or a retried alarm) has nothing to add, and two loops
    // would send the same head twice.
    if (this.delivering) return;
    this.delivering = true;
    try {
      const loaded = loadConfig(this.env);
      this.takeUsage();
      const stats: Counts = { alarms: 1 };
      const retryAt = loaded.ok ? await this.deliverOutbox(loaded.config, stats) : Date.now() + RETRY.baseMs;
      await this.writeIndex(stats);
      const pruneAt = loaded.ok ? this.prune(loaded.config) : undefined;
      const usage = this.takeUsage();
      stats.sql_rows_read = usage.sql_rows_read ?? 0;
      stats.sql_rows_written = usage.sql_rows_written ?? 0;
      await this.flushStats(stats, loaded.ok ? loaded.config : undefined);
      const next = retryAt ?? pruneAt;
      if (next !== undefined) await this.ctx.storage.setAlarm(next);
    } finally {
      this.delivering = false;
    }
  }

  /** Delivers due events in order; returns when the alarm must run next for the outbox. */
  private async deliverOutbox(config: GatewayConfig, stats: Counts): Promise<number | undefined> {
    const started = Date.now();
    for (;;) {
      const head = this.sql
        .exec<{ seq: number; id: string; source: string; body: string; attempts: number }>(
          "SELECT seq, id, source, body, attempts FROM events WHERE state = 'pending' ORDER BY seq LIMIT 1",
        )
        .toArray()[0];
      if (head === undefined) return undefined;
      if (Date.now() - started > ALARM_BUDGET_MS) return Date.now();
      const source = config.sources.get(head.source);
      const attemptStarted = Date.now();
      const outcome: AttemptOutcome =
        source === undefined
          ? // The source was removed from the configuration: keep the event and try later.
            { kind: "retry", error: "source not configured" }
          : await deliverOnce(source.originUrl, config.originSecrets, head, attemptStarted, config.deliveryTimeoutMs);
      if (source !== undefined) stats.subrequests = (stats.subrequests ?? 0) + 1;
      const retryAt = this.record(head, outcome, attemptStarted, Date.now() - attemptStarted, stats);
      if (retryAt !== undefined) return retryAt;
    }
  }

  /** Writes an attempt's outcome; returns when to retry, or undefined to go on with the next event. */
  private record(
    head: { seq: number; id: string; source: string; attempts: number },
    outcome: AttemptOutcome,
    at: number,
    ms: number,
    stats: Counts,
  ): number | undefined {
    const now = Date.now();
    const attempts = head.attempts + 1;
    const status = "status" in outcome ? (outcome.status ?? null) : null;
    const error = outcome.kind === "delivered" ? null : outcome.error;
    // Failed attempts get a row each; the successful one is the event row itself (attempts,
    // last_status, delivered_at), which saves a write on every delivered event.
    if (outcome.kind !== "delivered") {
      this.exec(
        "INSERT OR REPLACE INTO attempts (event_seq, attempt, at, outcome, status, error, ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
        head.seq,
        attempts,
        at,
        outcome.kind,
        status,
        error,
        ms,
      );
    }
    log("delivery", {
      source: head.source,
      account: this.identity()?.account,
      eventId: head.id,
      attempt: attempts,
      outcome: outcome.kind,
      status: status ?? undefined,
      error: error ?? undefined,
      ms,
    });
    if (outcome.kind === "delivered") {
      this.exec(
        "UPDATE events SET state = 'delivered', attempts = ?, last_status = ?, delivered_at = ?, next_attempt_at = NULL, reason = NULL WHERE seq = ?",
        attempts,
        status,
        now,
        head.seq,
      );
      stats.delivered = (stats.delivered ?? 0) + 1;
      return undefined;
    }
    // An origin's Retry-After is honoured, but never beyond the schedule's cap.
    const retryAfter =
      outcome.kind === "retry" && outcome.retryAfterMs !== undefined ? Math.min(outcome.retryAfterMs, RETRY.capMs) : undefined;
    const delay = outcome.kind === "retry" ? (retryAfter ?? retryDelayMs(attempts, Math.random())) : undefined;
    if (outcome.kind === "rejected" || delay === undefined || retryDelayMs(attempts, 0) === undefined) {
      this.exec(
        "UPDATE events SET state = 'dead', attempts = ?, last_status = ?, reason = ?, next_attempt_at = NULL, indexed = 0 WHERE seq = ?",
        attempts,
        status,
        error,
        head.seq,
      );
      stats.dead = (stats.dead ?? 0) + 1;
      return undefined;
    }
    const retryAt = now + delay;
    this.exec(
      "UPDATE events SET attempts = ?, last_status = ?, reason = ?, next_attempt_at = ? WHERE seq = ?",
      attempts,
      status,
      error,
      retryAt,
      head.seq,
    );
    return retryAt;
  }

  /** Writes the KV index entries of new dead letters and quarantined events (retried until done). */
  private async writeIndex(stats: Counts): Promise<void> {
    const identity = this.identity();
    if (identity === undefined) return;
    const rows = this.sql
      .exec<{ seq: number; id: string; state: string; reason: string | null; received_at: number }>(
        "SELECT seq, id, state, reason, received_at FROM events WHERE state IN ('dead', 'quarantined') AND indexed = 0 LIMIT 100",
      )
      .toArray();
    for (const row of rows) {
      const kind: IndexKind = row.state === "dead" ? "dead" : "quarantine";
      try {
        await addToIndex(this.env.OPS_INDEX, kind, { ...identity, id: row.id, reason: row.reason ?? "", at: row.received_at });
        stats.kv_writes = (stats.kv_writes ?? 0) + 1;
        this.exec("UPDATE events SET indexed = 1 WHERE seq = ?", row.seq);
      } catch {
        // KV unavailable: the row stays unindexed and the next alarm tries again.
      }
    }
  }

  /**
   * Drops delivered events' bodies after RETENTION_DELIVERED_SECONDS and their rows (the
   * idempotency keys) after RETENTION_KEYS_SECONDS. Dead letters and quarantined events stay
   * until an operator acts. Returns when the next prune is due, if anything is left to prune.
   */
  private prune(config: GatewayConfig): number | undefined {
    const now = Date.now();
    const bodyTtl = config.retentionDeliveredSeconds * 1000;
    const keyTtl = config.retentionKeysSeconds * 1000;
    this.exec("UPDATE events SET body = NULL WHERE state = 'delivered' AND body IS NOT NULL AND delivered_at < ?", now - bodyTtl);
    const old = `state IN ('delivered', 'reprocessed') AND received_at < ${now - keyTtl}`;
    this.exec(`DELETE FROM attempts WHERE event_seq IN (SELECT seq FROM events WHERE ${old})`);
    this.exec(`DELETE FROM events WHERE ${old}`);
    this.exec("DELETE FROM nonces WHERE expires_at < ?", now);
    const next = this.sql
      .exec<{ at: number | null }>(
        `SELECT MIN(at) AS at FROM (
           SELECT MIN(delivered_at) + ? AS at FROM events WHERE state = 'delivered' AND body IS NOT NULL
           UNION ALL SELECT MIN(received_at) + ? FROM events WHERE state IN ('delivered', 'reprocessed')
           UNION ALL SELECT MIN(expires_at) FROM nonces)`,
        bodyTtl,
        keyTtl,
      )
      .one().at;
    return next === null ? undefined : Math.max(next, now + 1000);
  }

  /** Adds this run's counts to the isolate's counters; they reach the stats object in batches. */
  private async flushStats(stats: Counts, config: GatewayConfig | undefined): Promise<void> {
    const identity = this.identity();
    if (identity === undefined || config === undefined) return;
    for (const [name, value] of Object.entries(stats)) count(identity.source, name as Counter, value);
    await flushIfDue(this.env, Date.now(), config.statsFlushMs);
  }
}
