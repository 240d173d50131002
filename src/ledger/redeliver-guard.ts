/**
 * The guard a bulk job (src/jobs/) passes to `redeliver`, which makes its calls idempotent
 * without a column of its own: an event is put back only if nothing has happened to it since the
 * job was created. So when a job's run dies between the ledger call and the write of its cursor
 * and the next run calls again for the same event, that call finds it pending (or delivered, or
 * failed again, since the mark) and skips it: the event is delivered once.
 */
import type { LedgerStorage } from "./storage";

export interface RedeliverGuard {
  /** Skip the event if it is pending, or has an attempt or a delivery at or after this time (Unix ms). */
  readonly unlessTouchedSince: number;
  /** Skip the event unless it is in this state (what the operators' index showed the job). */
  readonly state?: string;
}

/** Whether the guard says to leave the row as it is. One primary-key probe of `attempts`. */
export function guardSkips(
  storage: LedgerStorage,
  row: { seq: number; state: string; delivered_at: number | null },
  guard: RedeliverGuard,
): boolean {
  if (row.state === "pending") return true;
  if (guard.state !== undefined && row.state !== guard.state) return true;
  if (row.delivered_at !== null && row.delivered_at >= guard.unlessTouchedSince) return true;
  // An attempt since the mark (a failure: successes are the row's delivered_at, or an attempts
  // row no later than it). Attempt numbers and times only grow: the last one says it.
  const last = storage.rows<{ at: number }>("SELECT at FROM attempts WHERE event_seq = ? ORDER BY attempt DESC LIMIT 1", row.seq)[0];
  return last !== undefined && last.at >= guard.unlessTouchedSince;
}
