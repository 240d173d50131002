/**
 * An event's attempt budget under origin protection: what of its history counts against the
 * retry schedule (src/delivery.ts `nextAttemptAt`: at least RETRY.maxAttempts attempts and two
 * days before a dead letter).
 *
 * The invariant (docs/guarantees.md, test/attempt-budget.test.ts checks it as a property over
 * any interleaving of failures, holds and probes): **no event is dead-lettered before it has had
 * RETRY.maxAttempts counted attempts and two days of un-held time since its first failed
 * attempt.** Two things do not count:
 * - a breaker probe's failed attempt (`held` = 1): an open breaker let exactly this one attempt
 *   through to learn whether the origin is back; it is kept in the history, but the event did
 *   not get a real chance;
 * - the time its account was held (open breaker, pause: ./hold.ts) while the event had failed
 *   attempts: when the hold ends, its length is added to `held_ms` of the event's last attempt
 *   row, and the two-day window ends the summed `held_ms` later.
 * So an outage of days dead-letters nothing. These are reads of the failure path only: a
 * delivered event never reads its attempt rows.
 */
import { nextAttemptAt, RETRY, retryDelayMs } from "../delivery";
import type { LedgerStorage } from "./storage";

/** Migration 10 (./schema.ts): the two columns the budget reads, 0 for every row written before. */
export const ATTEMPTS_HOLDS: readonly string[] = [
  "ALTER TABLE attempts ADD COLUMN held INTEGER NOT NULL DEFAULT 0",
  "ALTER TABLE attempts ADD COLUMN held_ms INTEGER NOT NULL DEFAULT 0",
];

export interface FailedAttemptRow {
  readonly seq: number;
  /** Its number: the event's attempts so far, this one included. */
  readonly attempt: number;
  readonly at: number;
  readonly outcome: "retry" | "rejected";
  readonly status: number | null;
  readonly error: string;
  readonly ms: number;
  /** A breaker probe's attempt: not counted against the budget. */
  readonly probe: boolean;
}

/** Writes a failed attempt's row (a success is the event row itself: ./outbox.ts). */
export function recordFailedAttempt(storage: LedgerStorage, row: FailedAttemptRow): void {
  storage.run(
    "INSERT OR REPLACE INTO attempts (event_seq, attempt, at, outcome, status, error, ms, held) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    row.seq,
    row.attempt,
    row.at,
    row.outcome,
    row.status,
    row.error,
    row.ms,
    row.probe ? 1 : 0,
  );
}

/**
 * Adds `ms` of hold to the event's attempt number `attempt` (its last): the window of its failed
 * attempts ends that much later. No-op for an event that has no attempt yet.
 */
export function creditHold(storage: LedgerStorage, seq: number, attempt: number, ms: number): void {
  if (attempt <= 0 || ms <= 0) return;
  storage.run("UPDATE attempts SET held_ms = held_ms + ?3 WHERE event_seq = ?1 AND attempt = ?2", seq, attempt, Math.ceil(ms));
}

/**
 * When a failed event is tried next, or undefined to dead-letter it, once its attempt number
 * `attempts` is written. Reads, by the event's primary-key prefix: the first failed attempt since
 * its last success (the window's start), the attempt `RETRY.perMinute` back (the per-minute
 * bound), its probes and the time it was held. A probe's failure never dead-letters: it does not
 * count.
 */
export function retryAt(
  storage: LedgerStorage,
  failed: { seq: number; attempts: number; now: number; retryAfterMs: number | undefined; probe: boolean },
): number | undefined {
  const { seq, attempts, now, retryAfterMs } = failed;
  const times = storage.rows<{ first: number | null; anchor: number | null; probes: number; held_ms: number }>(
    `WITH since AS (SELECT IFNULL((SELECT MAX(attempt) FROM attempts WHERE event_seq = ?1 AND outcome = 'delivered'), 0) AS attempt)
     SELECT (SELECT at FROM attempts WHERE event_seq = ?1 AND outcome != 'delivered' AND attempt > (SELECT attempt FROM since)
               ORDER BY attempt LIMIT 1) AS first,
            (SELECT at FROM attempts WHERE event_seq = ?1 AND attempt = ?2) AS anchor,
            (SELECT COUNT(*) FROM attempts WHERE event_seq = ?1 AND held = 1) AS probes,
            (SELECT IFNULL(SUM(held_ms), 0) FROM attempts WHERE event_seq = ?1 AND attempt > (SELECT attempt FROM since)) AS held_ms`,
    seq,
    attempts + 1 - RETRY.perMinute,
  )[0]!;
  const counted = attempts - times.probes;
  const random = Math.random();
  const at = nextAttemptAt({
    attemptsMade: counted,
    now,
    firstFailedAt: times.first ?? now,
    heldMs: times.held_ms,
    ...(times.anchor !== null && { rateAnchorAt: times.anchor }),
    ...(retryAfterMs !== undefined && { retryAfterMs }),
    random,
  });
  if (at === undefined && failed.probe) return now + retryDelayMs(counted, random);
  return at;
}
