/**
 * One SQLite-backed Durable Object per (source, account): the dedupe authority, the durable
 * store and the account's FIFO outbox. A claim is one `INSERT ... WHERE NOT EXISTS` (its
 * `seq` is the account's CloudEvents `sequence`; a refused duplicate takes none), made before
 * any outbound I/O, and it returns only after the row is durable, so the Worker
 * acks the provider only for stored events. `alarm()` delivers the outbox in arrival order
 * (a failing head blocks only this account), indexes dead letters and quarantined events for
 * operators, and prunes what retention no longer needs.
 *
 * Scheduling rule (docs/architecture.md "Outbox scheduling"): storage state first, then the
 * alarm, then best-effort KV. The alarm is never later than the outbox head's due time: every
 * change to the outbox sets it in the same synchronous block as the write, and an alarm run
 * derives its next wake-up from the stored state after its last await. KV (the operators'
 * index) is never on that path: a failed KV call leaves the row marked for the next run and
 * sets a retry wake-up.
 * Two pseudo-accounts use the same class: `~quarantine` (a source's unreadable callbacks) and
 * `~stats` (a source's counters).
 */
import { DurableObject } from "cloudflare:workers";
import { type GatewayConfig, loadConfig } from "../config";
import { type AttemptOutcome, deliverOnce, nextAttemptAt, RETRY, withSequence } from "../delivery";
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
/** Wait before retrying the operators' index after a KV failure: doubles per failure, up to the cap. */
const INDEX_RETRY = { baseMs: 2_000, capMs: 5 * 60_000 } as const;
/** At most this many index batches per alarm run (rows an operator changes meanwhile are redone). */
const INDEX_BATCHES = 10;
/** Rows whose KV index entry must be written (dead, quarantined) or deleted (indexed = 2). */
const INDEX_WORK = "indexed = 2 OR (indexed = 0 AND state IN ('dead', 'quarantined'))";
const EVENT_COLUMNS =
  "seq, id, source, idempotency_key, type, state, body, reason, received_at, attempts, next_attempt_at, last_status, delivered_at";

export class AccountLedger extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private delivering = false;
  /** Consecutive failed index passes, and when the next may run (in memory: a new wake retries at once). */
  private indexFailures = 0;
  private indexRetryAt: number | undefined;
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
    // Inserted only if the id is new. Not `ON CONFLICT DO NOTHING`: SQLite's AUTOINCREMENT
    // would spend a `seq` on the refused duplicate, and `seq` is the account's `sequence`,
    // where a gap must mean a dead-lettered event, never a provider's retry.
    const inserted = this.sql
      .exec(
        `INSERT INTO events (id, source, idempotency_key, type, state, body, received_at, next_attempt_at)
         SELECT ?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?6
         WHERE NOT EXISTS (SELECT 1 FROM events WHERE id = ?1) RETURNING seq`,
        input.id,
        input.source,
        input.idempotencyKey,
        input.type,
        input.body,
        input.receivedAt,
      )
      .toArray();
    // A non-empty outbox already has its alarm at or before the head's due time (or a run in
    // progress, which schedules from the stored state when it ends); only a first pending event
    // needs one now. Set in the same synchronous block as the insert: nothing runs in between.
    // At the row's due time (its receipt), not at "now": the alarm is never after the head.
    if (inserted.length > 0 && outboxWasEmpty) await this.ctx.storage.setAlarm(input.receivedAt);
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
         SELECT ?1, ?2, ?3, 'quarantined', ?4, ?5, ?6
         WHERE NOT EXISTS (SELECT 1 FROM events WHERE id = ?1) RETURNING seq`,
        input.id,
        input.source,
        input.idempotencyKey,
        input.raw,
        input.reason,
        input.receivedAt,
      )
      .toArray();
    // The alarm writes the operators' index entry (and retries it while KV fails).
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
    const rows = this.sql
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
    return rows.map(asSent);
  }

  /** One event with all its delivery attempts. */
  async event(id: string): Promise<{ event: EventRow; attempts: AttemptRow[] } | undefined> {
    const row = this.exec(`SELECT ${EVENT_COLUMNS} FROM events WHERE id = ?`, id).toArray()[0] as unknown as EventRow | undefined;
    if (row === undefined) return undefined;
    const event = asSent(row);
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
   * unchanged, so it goes before newer events of the account: FIFO holds. Older pending events
   * (a head backing off) are made due now too, as the outbox cannot send this one before them.
   * Storage first, then the alarm, then the index entry (best effort: the alarm retries it).
   */
  async redeliver(id: string): Promise<"queued" | "not_found" | "not_redeliverable"> {
    const row = this.sql
      .exec<{ seq: number; state: string; body: string | null }>("SELECT seq, state, body FROM events WHERE id = ?", id)
      .toArray()[0];
    if (row === undefined) return "not_found";
    if ((row.state !== "dead" && row.state !== "pending" && row.state !== "delivered") || row.body === null) return "not_redeliverable";
    const now = Date.now();
    // A dead letter's index entry is to be deleted (indexed = 2); other rows have none.
    this.exec(
      "UPDATE events SET state = 'pending', next_attempt_at = ?, indexed = CASE WHEN state = 'dead' THEN 2 ELSE indexed END WHERE seq = ?",
      now,
      row.seq,
    );
    this.exec("UPDATE events SET next_attempt_at = ? WHERE state = 'pending' AND seq < ? AND next_attempt_at > ?", now, row.seq, now);
    await this.ctx.storage.setAlarm(now);
    if (row.state === "dead") await this.syncIndex({});
    return "queued";
  }

  /**
   * Sends again every delivered event received since `since` (Unix ms), in order, with its
   * original id: origins that dedupe on webhook-id should clear their record first.
   */
  async replay(since: number): Promise<number> {
    const now = Date.now();
    const changed = this.exec(
      "UPDATE events SET state = 'pending', next_attempt_at = ? WHERE state = 'delivered' AND body IS NOT NULL AND received_at >= ? RETURNING seq",
      now,
      since,
    ).toArray().length;
    if (changed > 0) await this.ctx.storage.setAlarm(now);
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
    // Its index entry is to be deleted (indexed = 2): storage first, then the alarm that
    // retries the deletion, then the deletion itself (best effort).
    const changed = this.exec(
      "UPDATE events SET state = 'reprocessed', reason = ?, indexed = 2 WHERE id = ? AND state = 'quarantined' RETURNING seq",
      outcome,
      id,
    ).toArray();
    if (changed.length === 0) return;
    await this.ctx.storage.setAlarm(Date.now());
    await this.syncIndex({});
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
  // Alarm: deliver, index, prune, schedule

  /**
   * Delivers the due head of the outbox, then the next, in order; writes the operators' index;
   * prunes; then sets the next wake-up from what is stored at that moment (`schedule`), so an
   * event accepted during any await of this run (an origin call, a KV write, the counters
   * flush) is never left behind a later wake-up.
   */
  override async alarm(): Promise<void> {
    // One delivery loop per object: the running loop re-reads the head after every event and
    // schedules from the stored state when it ends, so a second entry (a test's forced alarm,
    // or a retried alarm) has nothing to add, and two loops would send the same head twice.
    if (this.delivering) return;
    this.delivering = true;
    const loaded = loadConfig(this.env);
    const config = loaded.ok ? loaded.config : undefined;
    try {
      this.takeUsage();
      const stats: Counts = { alarms: 1 };
      if (config !== undefined) await this.deliverOutbox(config, stats);
      await this.syncIndex(stats);
      if (config !== undefined) this.nextPruneAt = this.prune(config);
      const usage = this.takeUsage();
      stats.sql_rows_read = usage.sql_rows_read ?? 0;
      stats.sql_rows_written = usage.sql_rows_written ?? 0;
      await this.flushStats(stats, config);
    } finally {
      this.delivering = false;
      // After the last await, and also when something above threw: nothing is stranded.
      await this.schedule(config !== undefined);
    }
  }

  /** When the last prune said the next one is due (in memory; recomputed by every run). */
  private nextPruneAt: number | undefined;

  /**
   * Sets the alarm from the stored state, in one synchronous block (nothing can change the
   * state between the read and the set): the outbox head's due time (a retry soon when the
   * configuration cannot be read), the index retry while rows wait for KV, the next prune.
   */
  private async schedule(configured: boolean): Promise<void> {
    const now = Date.now();
    const wakes: number[] = [];
    const head = this.exec<{ next_attempt_at: number | null }>(
      "SELECT next_attempt_at FROM events WHERE state = 'pending' ORDER BY seq LIMIT 1",
    ).toArray()[0];
    if (head !== undefined) wakes.push(configured ? (head.next_attempt_at ?? now) : now + RETRY.baseMs);
    if (this.exec(`SELECT 1 FROM events WHERE ${INDEX_WORK} LIMIT 1`).toArray().length > 0) wakes.push(this.indexRetryAt ?? now);
    if (this.nextPruneAt !== undefined) wakes.push(this.nextPruneAt);
    if (wakes.length > 0) await this.ctx.storage.setAlarm(Math.min(...wakes));
  }

  /** Delivers due events in order, until the head is not due, the outbox is empty or the run's time is up. */
  private async deliverOutbox(config: GatewayConfig, stats: Counts): Promise<void> {
    const started = Date.now();
    for (;;) {
      const head = this.sql
        .exec<{ seq: number; id: string; source: string; body: string; attempts: number; next_attempt_at: number | null }>(
          "SELECT seq, id, source, body, attempts, next_attempt_at FROM events WHERE state = 'pending' ORDER BY seq LIMIT 1",
        )
        .toArray()[0];
      if (head === undefined) return;
      const attemptStarted = Date.now();
      // Not due (an early wake-up: the index retry, a prune): `schedule` wakes at its time.
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
  private record(
    head: { seq: number; id: string; source: string; attempts: number },
    outcome: AttemptOutcome,
    at: number,
    ms: number,
    stats: Counts,
  ): boolean {
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
      return true;
    }
    const retryAt = outcome.kind === "retry" ? this.retryAt(head.seq, attempts, now, outcome.retryAfterMs) : undefined;
    if (retryAt === undefined) {
      this.exec(
        "UPDATE events SET state = 'dead', attempts = ?, last_status = ?, reason = ?, next_attempt_at = NULL, indexed = 0 WHERE seq = ?",
        attempts,
        status,
        error,
        head.seq,
      );
      stats.dead = (stats.dead ?? 0) + 1;
      return true;
    }
    this.exec(
      "UPDATE events SET attempts = ?, last_status = ?, reason = ?, next_attempt_at = ? WHERE seq = ?",
      attempts,
      status,
      error,
      retryAt,
      head.seq,
    );
    return false;
  }

  /**
   * When a failed event is tried next, or undefined to dead-letter it (src/delivery.ts
   * `nextAttemptAt`). Reads two attempt rows by primary key, on the failure path only: the
   * first failed attempt (the two-day window) and the one `RETRY.perMinute` attempts back (the
   * per-minute bound).
   */
  private retryAt(seq: number, attempts: number, now: number, retryAfterMs: number | undefined): number | undefined {
    const times = this.exec<{ first: number | null; anchor: number | null }>(
      `SELECT (SELECT at FROM attempts WHERE event_seq = ?1 ORDER BY attempt LIMIT 1) AS first,
              (SELECT at FROM attempts WHERE event_seq = ?1 AND attempt = ?2) AS anchor`,
      seq,
      attempts + 1 - RETRY.perMinute,
    ).one();
    return nextAttemptAt({
      attemptsMade: attempts,
      now,
      firstFailedAt: times.first ?? now,
      ...(times.anchor !== null && { rateAnchorAt: times.anchor }),
      ...(retryAfterMs !== undefined && { retryAfterMs }),
      random: Math.random(),
    });
  }

  /** The index pass in progress, if any: passes run one at a time, so KV sees this object's writes in order. */
  private indexing: Promise<void> | undefined;

  /**
   * Brings the operators' KV index in step with the rows: writes the entries of new dead letters
   * and quarantined callbacks, deletes those of redelivered and re-processed ones. Never throws:
   * at the first KV failure it stops, logs, and leaves the rest marked, and `schedule` wakes the
   * object again after a back-off (2 s doubling, up to 5 min) until KV takes them.
   */
  private async syncIndex(stats: Counts): Promise<void> {
    // A pass that failed has reported it to its own caller; the next one simply runs.
    while (this.indexing !== undefined) await this.indexing.then(noop, noop);
    const pass = this.indexPass(stats);
    this.indexing = pass;
    try {
      await pass;
    } finally {
      this.indexing = undefined;
    }
  }

  private async indexPass(stats: Counts): Promise<void> {
    const identity = this.identity();
    if (identity === undefined) return;
    for (let batch = 0; batch < INDEX_BATCHES; batch++) {
      const rows = this.exec<{ seq: number; id: string; state: string; indexed: number; reason: string | null; received_at: number }>(
        `SELECT seq, id, state, indexed, reason, received_at FROM events WHERE ${INDEX_WORK} ORDER BY seq LIMIT 50`,
      ).toArray();
      if (rows.length === 0) break;
      for (const row of rows) {
        const entry = { ...identity, id: row.id };
        try {
          if (row.state === "dead" || row.state === "quarantined") {
            const kind: IndexKind = row.state === "dead" ? "dead" : "quarantine";
            await addToIndex(this.env.OPS_INDEX, kind, { ...entry, reason: row.reason ?? "", at: row.received_at });
          } else {
            await removeFromIndex(this.env.OPS_INDEX, row.state === "reprocessed" ? "quarantine" : "dead", entry);
          }
        } catch (err) {
          this.indexFailures += 1;
          const wait = Math.min(INDEX_RETRY.capMs, INDEX_RETRY.baseMs * 2 ** Math.min(20, this.indexFailures - 1));
          this.indexRetryAt = Date.now() + wait;
          log("ops_index", {
            level: "warn",
            source: identity.source,
            account: identity.account,
            eventId: row.id,
            state: row.state,
            failures: this.indexFailures,
            retryInMs: wait,
            error: err instanceof Error ? err.name : "Error",
            message: (err instanceof Error ? err.message : String(err)).slice(0, 300),
          });
          return;
        }
        stats.kv_writes = (stats.kv_writes ?? 0) + 1;
        // Marked only if unchanged since it was read: an operator's redeliver or a new dead
        // letter during the KV call leaves the row marked, and the next batch redoes it.
        this.exec("UPDATE events SET indexed = 1 WHERE seq = ? AND state = ? AND indexed = ?", row.seq, row.state, row.indexed);
      }
    }
    this.indexFailures = 0;
    this.indexRetryAt = undefined;
  }

  /**
   * Drops delivered events' bodies after RETENTION_DELIVERED_SECONDS and their rows (the
   * idempotency keys) after RETENTION_KEYS_SECONDS. Dead letters and quarantined events stay
   * until an operator acts. Returns when the next prune is due, if anything is left to prune.
   * `seq` is AUTOINCREMENT, so a deleted row's number is never given again: an account's
   * `sequence` only grows.
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
    const next = this.exec<{ at: number | null }>(
      `SELECT MIN(at) AS at FROM (
           SELECT MIN(delivered_at) + ? AS at FROM events WHERE state = 'delivered' AND body IS NOT NULL
           UNION ALL SELECT MIN(received_at) + ? FROM events WHERE state IN ('delivered', 'reprocessed')
           UNION ALL SELECT MIN(expires_at) FROM nonces)`,
      bodyTtl,
      keyTtl,
    ).one().at;
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

const noop = () => undefined;

/** A row as operators see it: its body as the origin receives it, with `sequence`. */
function asSent(row: EventRow): EventRow {
  return row.body === null || row.state === "quarantined" || row.state === "reprocessed"
    ? row
    : { ...row, body: withSequence(row.body, row.seq) };
}
