/**
 * Per-source counters (accepted, duplicate, rejected, quarantined, delivered, dead, ...).
 * Requests count in this isolate's memory and are written to the source's `~stats` ledger
 * object at most every STATS_FLUSH_MS, in the background: a forged request never costs a
 * storage write of its own. Counts an isolate holds when it is evicted are lost, so the
 * counters are a close lower bound, not an audit log (the ledgers are that). A flush's own
 * SQLite rows are counted too, in the next flush.
 */
import { log } from "./log";
import { internalLedger } from "./object-names";
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
  return Promise.all(
    batch.map(async ([source, counts]) => {
      try {
        // The flush is a Durable Object request of its own: counted in what it writes. The rows
        // it reads and writes are known only once it is done: they go into the next flush.
        const usage = await statsLedger(env, source).addCounters({ ...counts, do_requests: (counts.do_requests ?? 0) + 1 });
        count(source, "sql_rows_read", usage.sql_rows_read);
        count(source, "sql_rows_written", usage.sql_rows_written);
      } catch (err) {
        // Put them back: the next flush tries again. Counters are not the audit log (the ledgers
        // are), so a failed flush is degraded, not lost data.
        for (const [name, value] of Object.entries(counts)) count(source, name as Counter, value);
        log("stats_flush", { level: "warn", source, ...storageFailure(err).fields });
      }
    }),
  ).then(() => undefined);
}
