/**
 * Index retention (INDEX_RETENTION_DAYS, default 90): a D1 database holds at most 10 GB, so
 * the operators' index keeps events for a bounded time, separate from the account objects'
 * own retention (they stay the authority). Run from the Worker's cron (src/scheduled.ts).
 *
 * What goes, oldest first, in batches of `batchRows` rows per statement and at most
 * `maxBatches` batches of each kind per run (a run that stops at the limit leaves the rest
 * for the next one):
 * - events delivered or re-processed and received before the cutoff, with their `refs` rows
 *   (found from each event's own `refs` column: `refs` is keyed by reference, and a delete by
 *   id alone would read the whole table);
 * - `accounts` rows not rewritten since the cutoff (an account that has sent nothing).
 * Dead letters, quarantined callbacks and pending events stay, whatever their age: the
 * dead-letter and quarantine lists are read from this index, and those rows still need an
 * operator (their account objects never prune them either).
 */

export const DAY_MS = 24 * 60 * 60 * 1000;

export interface IndexPruneLimits {
  /** Rows per DELETE statement. */
  readonly batchRows: number;
  /** Batches of events (two statements each) and, separately, of accounts, per run. */
  readonly maxBatches: number;
}

export const INDEX_PRUNE_LIMITS: IndexPruneLimits = { batchRows: 1000, maxBatches: 20 };

/** What one run deleted (a type, not an interface: it is logged as it is). */
export type IndexPruneResult = {
  readonly events: number;
  readonly refs: number;
  readonly accounts: number;
  /** False when a kind used all its batches: more may have expired, for the next run. */
  readonly done: boolean;
};

/** The expired events one batch takes: the oldest first, along events_by_time; (received_at, id) makes the choice exact. */
const EXPIRED_BATCH =
  "SELECT id, refs FROM events WHERE received_at < ?1 AND status IN ('delivered', 'reprocessed') ORDER BY received_at, id LIMIT ?2";

/**
 * Both statements of a batch run in one D1 batch (one transaction), so they see the same rows:
 * the refs of exactly the events deleted next. A `refs` cell that is not a JSON array (never
 * written by the gateway) contributes no reference rather than failing every later run.
 */
export const PRUNE_REFS_SQL = `WITH batch AS (${EXPIRED_BATCH})
DELETE FROM refs WHERE (ref, id) IN (
  SELECT j.value, b.id FROM batch AS b, json_each(CASE WHEN json_valid(b.refs) AND json_type(b.refs) = 'array' THEN b.refs ELSE '[]' END) AS j
)`;

export const PRUNE_EVENTS_SQL = `DELETE FROM events WHERE id IN (SELECT id FROM (${EXPIRED_BATCH}))`;

export const PRUNE_ACCOUNTS_SQL =
  "DELETE FROM accounts WHERE (source, account) IN (SELECT source, account FROM accounts WHERE updated_at < ?1 LIMIT ?2)";

/**
 * Deletes what the index keeps past `retentionDays` before `now` (module comment). Safe to run
 * at any time and concurrently with the account objects' writes: each statement deletes only
 * rows that are expired when it runs.
 */
export async function pruneIndex(
  db: D1Database,
  now: number,
  retentionDays: number,
  limits: IndexPruneLimits = INDEX_PRUNE_LIMITS,
): Promise<IndexPruneResult> {
  const cutoff = now - retentionDays * DAY_MS;
  let events = 0;
  let refs = 0;
  let accounts = 0;
  let done = true;

  for (let batch = 0; ; batch++) {
    if (batch === limits.maxBatches) {
      done = false;
      break;
    }
    const [refResult, eventResult] = await db.batch([
      db.prepare(PRUNE_REFS_SQL).bind(cutoff, limits.batchRows),
      db.prepare(PRUNE_EVENTS_SQL).bind(cutoff, limits.batchRows),
    ]);
    const deleted = eventResult?.meta.changes ?? 0;
    refs += refResult?.meta.changes ?? 0;
    events += deleted;
    if (deleted < limits.batchRows) break;
  }

  for (let batch = 0; ; batch++) {
    if (batch === limits.maxBatches) {
      done = false;
      break;
    }
    const result = await db.prepare(PRUNE_ACCOUNTS_SQL).bind(cutoff, limits.batchRows).run();
    const deleted = result.meta.changes ?? 0;
    accounts += deleted;
    if (deleted < limits.batchRows) break;
  }

  return { events, refs, accounts, done };
}
