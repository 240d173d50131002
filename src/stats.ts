/**
 * Per-source counters (accepted, duplicate, rejected, quarantined, delivered, failed, dead, ...).
 * Requests count in this isolate's memory and are written to the source's `~stats` ledger
 * object at most every STATS_FLUSH_MS, in the background: a forged request never costs a
 * storage write of its own. Counts an isolate holds when it is evicted are lost, so the
 * counters are a close lower bound, not an audit log (the ledgers are that). A flush's own
 * SQLite rows are counted too, in the next flush. The same flush adds the outcome counters, per
 * 5-minute bucket, to D1 for the console's charts (./overview/series.ts).
 */
import { log } from "./log";
import { internalLedger } from "./object-names";
import { flushSeries, noteSeries } from "./overview/series";
import { storageFailure } from "./platform-errors";

export const COUNTERS = [
  "accepted",
  "duplicate",
  "rejected",
  "replayed",
  "quarantined",
  "too_large",
  "forbidden",
  "storage_error",
  "delivered",
  // A delivery attempt that failed and will be retried (one that dead-letters counts as `dead`).
  "failed",
  "dead",
  // Billable operations (docs/benchmarks.md prices them): Durable Object requests and alarms,
  // SQLite rows, KV reads and writes, outbound subrequests.
  "do_requests",
  "alarms",
  "sql_rows_read",
  "sql_rows_written",
  "kv_reads",
  "kv_writes",
  "subrequests",
  // Requests an account object made to its destination's object (src/ledger/destination-run.ts):
  // one take per outbox run, and one report when the take granted anything.
  "destination_requests",
  // Rows the operators' D1 index wrote for the account objects (D1's own count: src/ledger/index-feed.ts).
  "d1_rows_written",
] as const;
export type Counter = (typeof COUNTERS)[number];
export type Counts = Partial<Record<Counter, number>>;

/** The ledger object that keeps a source's counters. */
export const STATS_ACCOUNT = "~stats";

export function statsLedger(env: Env, source: string) {
  return internalLedger(env, source, STATS_ACCOUNT);
}

const pending = new Map<string, Counts>();
let lastFlush = 0;

export function count(source: string, counter: Counter, by = 1): void {
  if (by === 0) return;
  add(source, counter, by);
  noteSeries(source, counter, by, Date.now());
}

function add(source: string, counter: Counter, by: number): void {
  const counts = pending.get(source) ?? {};
  counts[counter] = (counts[counter] ?? 0) + by;
  pending.set(source, counts);
}

/** Writes the isolate's counts when the flush interval has passed. Never throws. */
export function flushIfDue(env: Env, now: number, intervalMs: number): Promise<void> | undefined {
  if (pending.size === 0 || now - lastFlush < intervalMs) return undefined;
  lastFlush = now;
  const batch = [...pending];
  pending.clear();
  // The charts' deltas go to D1 beside the Durable Object writes, never before them: a slow or
  // failing D1 delays nothing but itself.
  const series = flushSeries(env.INDEX_DB, now);
  return Promise.all([
    series,
    ...batch.map(async ([source, counts]) => {
      try {
        // The flush is a Durable Object request of its own: counted in what it writes. The rows
        // it reads and writes are known only once it is done: they go into the next flush.
        const usage = await statsLedger(env, source).addCounters({ ...counts, do_requests: (counts.do_requests ?? 0) + 1 });
        count(source, "sql_rows_read", usage.sql_rows_read);
        count(source, "sql_rows_written", usage.sql_rows_written);
      } catch (err) {
        // Put them back: the next flush tries again. Counters are not the audit log (the ledgers
        // are), so a failed flush is degraded, not lost data. Their series are already on their
        // way to D1: only the counters go back.
        for (const [name, value] of Object.entries(counts)) add(source, name as Counter, value);
        log("stats_flush", { level: "warn", source, ...storageFailure(err).fields });
      }
    }),
  ]).then(() => undefined);
}
