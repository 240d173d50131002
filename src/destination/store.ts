/**
 * A destination object's SQLite storage: its one state row (breaker, outcome window, token
 * bucket, last failure), the accounts waiting on it, its paused sources, the breaker's history
 * (the newest HISTORY_KEPT transitions), the wake-ups still to send and the operational events
 * still to emit. Every statement goes through the ledger's storage gate (src/ledger/storage.ts),
 * which counts rows and keeps the alarm.
 */
import type { LedgerStorage } from "../ledger/storage";
import type { Breaker } from "./breaker";
import { CLOSED } from "./breaker";
import type { TokenBucket } from "./bucket";
import type { BreakerState, BreakerTransition } from "./contract";
import { EMPTY_WINDOW, type OutcomeWindow } from "./window";

export const HISTORY_KEPT = 100;

/** Why an account waits here: the breaker is open, or its source is paused. */
export type WaitReason = "open" | "paused";

/** The object's state, read and written as a whole: a few hundred bytes. */
export interface DestinationState {
  /** The destination's id, as the first request named it. */
  readonly destination: string | null;
  readonly breaker: Breaker;
  readonly window: OutcomeWindow;
  /** null until the first take: a fresh destination starts full. */
  readonly bucket: TokenBucket | null;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
}

/** An operational event to emit from the alarm (stored with the transition, so a crash does not lose it). */
export type Notice =
  | { readonly type: "opened"; readonly reason: string; readonly openedAt: number }
  | { readonly type: "closed"; readonly openedAt: number; readonly closedAt: number };

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY CHECK (id = 1), destination TEXT, breaker TEXT NOT NULL,
     window TEXT NOT NULL, bucket TEXT, last_status INTEGER, last_error TEXT)`,
  "CREATE TABLE IF NOT EXISTS waiters (account TEXT PRIMARY KEY, source TEXT NOT NULL, reason TEXT NOT NULL, since INTEGER NOT NULL)",
  "CREATE INDEX IF NOT EXISTS waiters_by_reason ON waiters (reason, since)",
  "CREATE TABLE IF NOT EXISTS paused_sources (source TEXT PRIMARY KEY, at INTEGER NOT NULL, by TEXT NOT NULL)",
  `CREATE TABLE IF NOT EXISTS history (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, from_state TEXT NOT NULL,
     to_state TEXT NOT NULL, reason TEXT NOT NULL)`,
  // Wake-ups to send, probe holders first (priority 0), then in the order they were queued; one
  // that failed waits until `due` (./wakes.ts), `failures` counting its failures in a row.
  `CREATE TABLE IF NOT EXISTS wakes (account TEXT PRIMARY KEY, priority INTEGER NOT NULL, due INTEGER NOT NULL DEFAULT 0,
     failures INTEGER NOT NULL DEFAULT 0)`,
  "CREATE TABLE IF NOT EXISTS notices (seq INTEGER PRIMARY KEY AUTOINCREMENT, notice TEXT NOT NULL)",
];

type StateRow = {
  destination: string | null;
  breaker: string;
  window: string;
  bucket: string | null;
  last_status: number | null;
  last_error: string | null;
};

export class DestinationStore {
  constructor(private readonly gate: LedgerStorage) {
    gate.atomically(() => {
      for (const statement of SCHEMA) gate.run(statement);
      // An object created before wake-ups were retried has a `wakes` table without their columns.
      const columns = new Set(gate.rows<{ name: string }>("SELECT name FROM pragma_table_info('wakes')").map((row) => row.name));
      if (!columns.has("due")) gate.run("ALTER TABLE wakes ADD COLUMN due INTEGER NOT NULL DEFAULT 0");
      if (!columns.has("failures")) gate.run("ALTER TABLE wakes ADD COLUMN failures INTEGER NOT NULL DEFAULT 0");
    });
  }

  state(): DestinationState {
    const row = this.gate.rows<StateRow>("SELECT destination, breaker, window, bucket, last_status, last_error FROM state WHERE id = 1")[0];
    if (row === undefined)
      return { destination: null, breaker: CLOSED, window: EMPTY_WINDOW, bucket: null, lastStatus: null, lastError: null };
    return {
      destination: row.destination,
      breaker: JSON.parse(row.breaker) as Breaker,
      window: JSON.parse(row.window) as OutcomeWindow,
      bucket: row.bucket === null ? null : (JSON.parse(row.bucket) as TokenBucket),
      lastStatus: row.last_status,
      lastError: row.last_error,
    };
  }

  save(state: DestinationState): void {
    this.gate.run(
      `INSERT INTO state (id, destination, breaker, window, bucket, last_status, last_error) VALUES (1, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET destination = excluded.destination, breaker = excluded.breaker, window = excluded.window,
         bucket = excluded.bucket, last_status = excluded.last_status, last_error = excluded.last_error`,
      state.destination,
      JSON.stringify(state.breaker),
      JSON.stringify(state.window),
      state.bucket === null ? null : JSON.stringify(state.bucket),
      state.lastStatus,
      state.lastError,
    );
  }

  /** Keeps `account` waiting; one that already waits keeps its place (`since`). */
  wait(account: string, source: string, reason: WaitReason, at: number): void {
    this.gate.run(
      `INSERT INTO waiters (account, source, reason, since) VALUES (?, ?, ?, ?)
       ON CONFLICT (account) DO UPDATE SET source = excluded.source, reason = excluded.reason`,
      account,
      source,
      reason,
      at,
    );
  }

  /** `account` no longer waits (it was granted, or refused for the ceiling: it comes back by itself). */
  unwait(account: string): void {
    this.gate.run("DELETE FROM waiters WHERE account = ?", account);
  }

  /** Sends `account` to the back of the queue (after its probe: the next probe is someone else's). */
  requeue(account: string, at: number): void {
    this.gate.run("UPDATE waiters SET since = ? WHERE account = ?", at, account);
  }

  /** The account that has waited for the breaker longest, since before `before`. */
  oldestWaiterBefore(before: number): string | undefined {
    return this.gate.rows<{ account: string }>(
      "SELECT account FROM waiters WHERE reason = 'open' AND since < ? ORDER BY since, account LIMIT 1",
      before,
    )[0]?.account;
  }

  /** The account that has waited longest for the breaker. */
  oldestWaiter(): string | undefined {
    return this.gate.rows<{ account: string }>("SELECT account FROM waiters WHERE reason = 'open' ORDER BY since, account LIMIT 1")[0]
      ?.account;
  }

  waiting(): number {
    return this.gate.rows<{ n: number }>("SELECT COUNT(*) AS n FROM waiters")[0]?.n ?? 0;
  }

  /** Moves the waiters for `reason` (of `source` when given) to the wake-up queue. Returns how many. */
  release(reason: WaitReason, source?: string): number {
    const filter = source === undefined ? "reason = ?" : "reason = ? AND source = ?";
    const bindings = source === undefined ? [reason] : [reason, source];
    this.gate.run(
      `INSERT OR IGNORE INTO wakes (account, priority) SELECT account, 1 FROM waiters WHERE ${filter} ORDER BY since`,
      ...bindings,
    );
    return this.gate.rows<{ account: string }>(`DELETE FROM waiters WHERE ${filter} RETURNING account`, ...bindings).length;
  }

  /** Queues a wake-up for the probe holder, ahead of any other, due now (even one waiting to be tried again). */
  wakeFirst(account: string): void {
    this.gate.run("INSERT INTO wakes (account, priority) VALUES (?, 0) ON CONFLICT (account) DO UPDATE SET priority = 0, due = 0", account);
  }

  /** Takes up to `limit` wake-ups due at `at` off the queue. */
  takeWakes(limit: number, at: number): { account: string; priority: number; failures: number }[] {
    const rows = this.gate.rows<{ account: string; priority: number; failures: number }>(
      "SELECT account, priority, failures FROM wakes WHERE due <= ? ORDER BY priority, rowid LIMIT ?",
      at,
      limit,
    );
    for (const { account } of rows) this.gate.run("DELETE FROM wakes WHERE account = ?", account);
    return rows;
  }

  /** Puts back a wake-up that failed, due at `due`; one queued again meanwhile (due now) is kept as it is. */
  retryWake(account: string, priority: number, failures: number, due: number): void {
    this.gate.run(
      "INSERT INTO wakes (account, priority, due, failures) VALUES (?, ?, ?, ?) ON CONFLICT (account) DO NOTHING",
      account,
      priority,
      due,
      failures,
    );
  }

  /** When the next wake-up is due; null when none is queued. */
  nextWakeAt(): number | null {
    return this.gate.rows<{ due: number | null }>("SELECT MIN(due) AS due FROM wakes")[0]?.due ?? null;
  }

  isPaused(source: string): boolean {
    return this.gate.rows("SELECT 1 FROM paused_sources WHERE source = ?", source).length > 0;
  }

  /** Pauses `source`; false when it already was (its first pause's time and author stay). */
  pause(source: string, by: string, at: number): boolean {
    return (
      this.gate.rows("INSERT INTO paused_sources (source, at, by) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING source", source, at, by)
        .length > 0
    );
  }

  /** Resumes `source`; false when it was not paused. */
  resume(source: string): boolean {
    return this.gate.rows("DELETE FROM paused_sources WHERE source = ? RETURNING source", source).length > 0;
  }

  pausedSources(): { source: string; at: number; by: string }[] {
    return this.gate.rows<{ source: string; at: number; by: string }>("SELECT source, at, by FROM paused_sources ORDER BY source");
  }

  /** Adds a transition, dropping those beyond the newest HISTORY_KEPT. */
  addHistory(transition: BreakerTransition): void {
    this.gate.run(
      "INSERT INTO history (at, from_state, to_state, reason) VALUES (?, ?, ?, ?)",
      transition.at,
      transition.from,
      transition.to,
      transition.reason,
    );
    this.gate.run("DELETE FROM history WHERE seq <= (SELECT MAX(seq) FROM history) - ?", HISTORY_KEPT);
  }

  /** Newest first. */
  history(): BreakerTransition[] {
    return this.gate
      .rows<{ at: number; from_state: string; to_state: string; reason: string }>(
        "SELECT at, from_state, to_state, reason FROM history ORDER BY seq DESC LIMIT ?",
        HISTORY_KEPT,
      )
      .map((row) => ({ at: row.at, from: row.from_state as BreakerState, to: row.to_state as BreakerState, reason: row.reason }));
  }

  addNotice(notice: Notice): void {
    this.gate.run("INSERT INTO notices (notice) VALUES (?)", JSON.stringify(notice));
  }

  notices(): { seq: number; notice: Notice }[] {
    return this.gate
      .rows<{ seq: number; notice: string }>("SELECT seq, notice FROM notices ORDER BY seq")
      .map((row) => ({ seq: row.seq, notice: JSON.parse(row.notice) as Notice }));
  }

  dropNotice(seq: number): void {
    this.gate.run("DELETE FROM notices WHERE seq = ?", seq);
  }
}
