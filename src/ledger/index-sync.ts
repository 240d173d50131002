/**
 * Keeps the operators' KV index (src/ops-index.ts) in step with the rows: writes the entries of
 * new dead letters and quarantined callbacks, deletes those of redelivered and re-processed
 * ones. The row is the truth and says what KV still owes (`indexed`: 0 to write, 2 to delete,
 * 1 done). KV is never on the path of a claim or a delivery: at the first KV failure a pass
 * stops, logs, and leaves the rest marked; the ledger's schedule wakes the object again after a
 * back-off (2 s doubling, up to 5 min) until KV takes them.
 */
import { log } from "../log";
import { addToIndex, type IndexKind, removeFromIndex } from "../ops-index";
import type { Counts } from "../stats";
import type { ObjectIdentity } from "./identity";
import type { LedgerStorage } from "./storage";

/** Wait before retrying after a KV failure: doubles per failure, up to the cap. */
const INDEX_RETRY = { baseMs: 2_000, capMs: 5 * 60_000 } as const;
/** At most this many batches per pass (rows an operator changes meanwhile are redone). */
const INDEX_BATCHES = 10;
/** Rows whose KV index entry must be written (dead, quarantined) or deleted (indexed = 2); the partial index `events_index_work`. */
const INDEX_WORK = "indexed = 2 OR (indexed = 0 AND state IN ('dead', 'quarantined'))";

interface WorkRow {
  seq: number;
  id: string;
  state: string;
  indexed: number;
  reason: string | null;
  received_at: number;
}

const noop = () => undefined;

export class IndexSync {
  /** Consecutive failed passes, and when the next may run (in memory: a new wake retries at once). */
  private failures = 0;
  private retryAt: number | undefined;
  /** The pass in progress, if any: passes run one at a time, so KV sees this object's writes in order. */
  private running: Promise<void> | undefined;

  constructor(
    private readonly storage: LedgerStorage,
    private readonly identity: ObjectIdentity,
    private readonly env: () => Env,
  ) {}

  /** When the object must wake for index work: now, or the retry time after a failure; undefined if there is none. */
  wakeAt(now: number): number | undefined {
    if (this.storage.rows(`SELECT 1 FROM events WHERE ${INDEX_WORK} LIMIT 1`).length === 0) return undefined;
    return this.retryAt ?? now;
  }

  /** Runs a pass after any pass in progress. Never throws for KV: a failure is logged and retried later. */
  async sync(stats: Counts): Promise<void> {
    // A pass that failed has reported it to its own caller; the next one simply runs.
    while (this.running !== undefined) await this.running.then(noop, noop);
    const pass = this.pass(stats);
    this.running = pass;
    try {
      await pass;
    } finally {
      this.running = undefined;
    }
  }

  private async pass(stats: Counts): Promise<void> {
    const identity = this.identity.get();
    if (identity === undefined) return;
    for (let batch = 0; batch < INDEX_BATCHES; batch++) {
      const rows = this.storage.rows<WorkRow & Record<string, SqlStorageValue>>(
        `SELECT seq, id, state, indexed, reason, received_at FROM events WHERE ${INDEX_WORK} ORDER BY seq LIMIT 50`,
      );
      if (rows.length === 0) break;
      for (const row of rows) {
        const entry = { ...identity, id: row.id };
        const kv = this.env().OPS_INDEX;
        try {
          if (row.state === "dead" || row.state === "quarantined") {
            const kind: IndexKind = row.state === "dead" ? "dead" : "quarantine";
            await addToIndex(kv, kind, { ...entry, reason: row.reason ?? "", at: row.received_at });
          } else {
            await removeFromIndex(kv, row.state === "reprocessed" ? "quarantine" : "dead", entry);
          }
        } catch (err) {
          this.failed(row, err);
          return;
        }
        stats.kv_writes = (stats.kv_writes ?? 0) + 1;
        // Marked only if unchanged since it was read: an operator's redeliver or a new dead
        // letter during the KV call leaves the row marked, and the next batch redoes it.
        this.storage.run("UPDATE events SET indexed = 1 WHERE seq = ? AND state = ? AND indexed = ?", row.seq, row.state, row.indexed);
      }
    }
    this.failures = 0;
    this.retryAt = undefined;
  }

  /** A KV call failed: the row stays marked, the next pass waits out the back-off. */
  private failed(row: WorkRow, err: unknown): void {
    this.failures += 1;
    const wait = Math.min(INDEX_RETRY.capMs, INDEX_RETRY.baseMs * 2 ** Math.min(20, this.failures - 1));
    this.retryAt = Date.now() + wait;
    const identity = this.identity.get();
    log("ops_index", {
      level: "warn",
      source: identity?.source,
      account: identity?.account,
      eventId: row.id,
      state: row.state,
      failures: this.failures,
      retryInMs: wait,
      error: err instanceof Error ? err.name : "Error",
      message: (err instanceof Error ? err.message : String(err)).slice(0, 300),
    });
  }
}
