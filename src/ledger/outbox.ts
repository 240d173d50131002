/**
 * The account's FIFO outbox: delivery in arrival order (a failing head blocks only this
 * account), the record of each attempt, the retry schedule, and the operators' ways of putting
 * events back (redeliver, replay). It only writes rows: the ledger shell sets the alarm in the
 * same synchronous block as each write (docs/architecture.md "Outbox scheduling").
 */
import type { GatewayConfig } from "../config";
import { type AttemptOutcome, deliverOnce, nextAttemptAt, RETRY, withSequence } from "../delivery";
import { log } from "../log";
import type { Counts } from "../stats";
import { type Cursors, OUTBOX_STORE_EVERY } from "./cursors";
import type { ObjectIdentity } from "./identity";
import type { LedgerStorage } from "./storage";

/** How long one alarm run may keep delivering before it yields and re-arms itself. */
const ALARM_BUDGET_MS = 20_000;

interface Head {
  seq: number;
  id: string;
  source: string;
  body: string;
  attempts: number;
  next_attempt_at: number | null;
  requeued: number;
}

const HEAD_COLUMNS = "seq, id, source, body, attempts, next_attempt_at, requeued";

export class Outbox {
  constructor(
    private readonly storage: LedgerStorage,
    private readonly identity: ObjectIdentity,
    private readonly cursors: Cursors,
  ) {}

  /**
   * The oldest pending event: the first pending row after the `outbox_after` cursor, or an
   * older one an operator put back (`events_requeued`, empty otherwise), whichever comes first
   * (./cursors.ts). Reads the rows between the cursor and the head: none in steady state, at
   * most OUTBOX_STORE_EVERY more in a fresh isolate. This is also what moves the cursor: a head
   * delivered or dead-lettered is passed over by the next look.
   */
  private head(): Head | undefined {
    const after = this.cursors.get("outbox_after");
    const next = this.storage.rows<Head & Record<string, SqlStorageValue>>(
      `SELECT ${HEAD_COLUMNS} FROM events WHERE seq > ? AND state = 'pending' ORDER BY seq LIMIT 1`,
      after,
    )[0];
    // Every row between the cursor and `next` (or the last row) is not pending, as this read just
    // showed: the cursor moves over them, so each is read once, whatever the object holds (a
    // quarantine's rows, dead letters, rows delivered before a restart).
    const done =
      next !== undefined ? next.seq - 1 : (this.storage.rows<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM events")[0]?.seq ?? 0);
    if (done > after) this.cursors.set("outbox_after", done, OUTBOX_STORE_EVERY);
    const requeued = this.storage.rows<Head & Record<string, SqlStorageValue>>(
      `SELECT ${HEAD_COLUMNS} FROM events WHERE requeued = 1 AND state = 'pending' ORDER BY seq LIMIT 1`,
    )[0];
    if (next === undefined) return requeued;
    return requeued !== undefined && requeued.seq < next.seq ? requeued : next;
  }

  /** Whether nothing is pending. */
  empty(): boolean {
    return this.head() === undefined;
  }

  /** The oldest pending event's due time (null: due now), or undefined when nothing is pending. */
  headDueAt(): number | null | undefined {
    const head = this.head();
    return head === undefined ? undefined : head.next_attempt_at;
  }

  /** Delivers due events in order, until the head is not due, the outbox is empty or the run's time is up. */
  async deliver(config: GatewayConfig, stats: Counts): Promise<void> {
    const started = Date.now();
    for (;;) {
      const head = this.head();
      if (head === undefined) return;
      const attemptStarted = Date.now();
      // Not due (an early wake-up: the index retry, a prune): the schedule wakes at its time.
      if ((head.next_attempt_at ?? 0) > attemptStarted) return;
      if (attemptStarted - started > ALARM_BUDGET_MS) return;
      const source = config.sources.get(head.source);
      const outbound = { id: head.id, body: withSequence(head.body, head.seq) };
      const outcome: AttemptOutcome =
        source === undefined
          ? // The source was removed from the configuration: keep the event and try later.
            { kind: "retry", error: "source not configured" }
          : await deliverOnce(source.originUrl, config.originSecrets, outbound, attemptStarted, config.deliveryTimeoutMs);
      if (source !== undefined) stats.subrequests = (stats.subrequests ?? 0) + 1;
      if (!this.record(head, outcome, attemptStarted, Date.now() - attemptStarted, stats)) return;
    }
  }

  /** Writes an attempt's outcome; returns whether to go on with the next event (false: the head waits for a retry). */
  private record(head: Head, outcome: AttemptOutcome, at: number, ms: number, stats: Counts): boolean {
    const now = Date.now();
    const attempts = head.attempts + 1;
    const status = "status" in outcome ? (outcome.status ?? null) : null;
    const error = outcome.kind === "delivered" ? null : outcome.error;
    // Failed attempts get a row each; the successful one is the event row itself (attempts,
    // last_status, delivered_at), which saves a write on every delivered event.
    if (outcome.kind !== "delivered") {
      this.storage.run(
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
    if (outcome.kind === "delivered") {
      this.storage.run(
        "UPDATE events SET state = 'delivered', attempts = ?, last_status = ?, delivered_at = ?, next_attempt_at = NULL, reason = NULL WHERE seq = ?",
        attempts,
        status,
        now,
        head.seq,
      );
      this.logAttempt(head, outcome, attempts, ms, "delivered");
      stats.delivered = (stats.delivered ?? 0) + 1;
      return true;
    }
    const retryAt = outcome.kind === "retry" ? this.retryAt(head.seq, attempts, now, outcome.retryAfterMs) : undefined;
    if (retryAt === undefined) {
      this.storage.run(
        "UPDATE events SET state = 'dead', attempts = ?, last_status = ?, reason = ?, next_attempt_at = NULL, indexed = 0 WHERE seq = ?",
        attempts,
        status,
        error,
        head.seq,
      );
      this.logAttempt(head, outcome, attempts, ms, "dead");
      stats.dead = (stats.dead ?? 0) + 1;
      return true;
    }
    this.storage.run(
      "UPDATE events SET attempts = ?, last_status = ?, reason = ?, next_attempt_at = ? WHERE seq = ?",
      attempts,
      status,
      error,
      retryAt,
      head.seq,
    );
    this.logAttempt(head, outcome, attempts, ms, "retry", retryAt);
    return false;
  }

  /**
   * One line per attempt. Its level: a delivery is `info`; a failed attempt that will be retried
   * is `warn` (the outbox absorbs it, but the origin is failing); a dead letter is `error`: it
   * waits for an operator (docs/operations.md).
   */
  private logAttempt(
    head: Head,
    outcome: AttemptOutcome,
    attempt: number,
    ms: number,
    result: "delivered" | "retry" | "dead",
    retryAt?: number,
  ) {
    log("delivery", {
      level: result === "delivered" ? "info" : result === "retry" ? "warn" : "error",
      source: head.source,
      account: this.identity.get()?.account,
      eventId: head.id,
      attempt,
      outcome: outcome.kind,
      result,
      status: "status" in outcome ? outcome.status : undefined,
      error: outcome.kind === "delivered" ? undefined : outcome.error,
      ...(retryAt !== undefined && { retryInMs: retryAt - Date.now() }),
      ms,
    });
  }

  /**
   * When a failed event is tried next, or undefined to dead-letter it (src/delivery.ts
   * `nextAttemptAt`). Reads two attempt rows by primary key, on the failure path only: the
   * first failed attempt (the two-day window) and the one `RETRY.perMinute` attempts back (the
   * per-minute bound).
   */
  private retryAt(seq: number, attempts: number, now: number, retryAfterMs: number | undefined): number | undefined {
    const times = this.storage.rows<{ first: number | null; anchor: number | null }>(
      `SELECT (SELECT at FROM attempts WHERE event_seq = ?1 ORDER BY attempt LIMIT 1) AS first,
              (SELECT at FROM attempts WHERE event_seq = ?1 AND attempt = ?2) AS anchor`,
      seq,
      attempts + 1 - RETRY.perMinute,
    )[0]!;
    return nextAttemptAt({
      attemptsMade: attempts,
      now,
      firstFailedAt: times.first ?? now,
      ...(times.anchor !== null && { rateAnchorAt: times.anchor }),
      ...(retryAfterMs !== undefined && { retryAfterMs }),
      random: Math.random(),
    });
  }

  /**
   * Puts a dead (or backing-off, or delivered) event back at its place in the outbox, due
   * `now`. Its `seq` is unchanged, so it goes before newer events of the account: FIFO holds.
   * Older pending events (a head backing off) are made due now too, as the outbox cannot send
   * this one before them. A dead letter's KV index entry is marked to be deleted (indexed = 2).
   */
  redeliver(id: string, now: number): "queued" | "queued_dead" | "not_found" | "not_redeliverable" {
    const row = this.storage.rows<{ seq: number; state: string; body: string | null }>(
      "SELECT seq, state, body FROM events WHERE id = ?",
      id,
    )[0];
    if (row === undefined) return "not_found";
    if ((row.state !== "dead" && row.state !== "pending" && row.state !== "delivered") || row.body === null) return "not_redeliverable";
    // `requeued`: the outbox finds it behind its cursor; retention looks at it again once delivered.
    this.storage.run(
      "UPDATE events SET state = 'pending', requeued = 1, next_attempt_at = ?, indexed = CASE WHEN state = 'dead' THEN 2 ELSE indexed END WHERE seq = ?",
      now,
      row.seq,
    );
    this.cursors.revisit(row.seq);
    // Older pending rows: requeued ones, and those after the cursor (each statement reads only those).
    this.storage.run(
      "UPDATE events SET next_attempt_at = ?1 WHERE requeued = 1 AND state = 'pending' AND seq < ?2 AND next_attempt_at > ?1",
      now,
      row.seq,
    );
    this.storage.run(
      "UPDATE events SET next_attempt_at = ?1 WHERE seq > ?3 AND seq < ?2 AND state = 'pending' AND next_attempt_at > ?1",
      now,
      row.seq,
      this.cursors.get("outbox_after"),
    );
    return row.state === "dead" ? "queued_dead" : "queued";
  }

  /**
   * Puts every delivered event received since `since` (Unix ms) back in the outbox, due `now`,
   * with its original id: origins that dedupe on webhook-id should clear their record first.
   * Reads every row of the account received since then (an operator's action, not the hot path).
   */
  replay(since: number, now: number): number {
    const seqs = this.storage.rows<{ seq: number }>(
      "UPDATE events SET state = 'pending', requeued = 1, next_attempt_at = ? WHERE state = 'delivered' AND body IS NOT NULL AND received_at >= ? RETURNING seq",
      now,
      since,
    );
    if (seqs.length > 0) this.cursors.revisit(seqs.reduce((low, r) => Math.min(low, r.seq), Number.POSITIVE_INFINITY));
    return seqs.length;
  }
}
