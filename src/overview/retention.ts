/**
 * Retention of the overview's tables, run by the Worker's cron with the index's own retention:
 * - `rejections`: rows older than REJECTIONS_RETENTION_DAYS, and past the newest
 *   REJECTIONS_PER_SOURCE of each source. Requests to unknown sources count as one source:
 *   their names come from whoever sends them, so a scanner trying many paths cannot keep
 *   thousands of rows per name.
 * - `counts`: buckets older than INDEX_RETENTION_DAYS, the index's retention (the charts show
 *   at most 7 days; a longer history stays for queries of your own).
 * Each run is one D1 batch, safe at any time and concurrently with the flushes.
 */
import type { GatewayConfig } from "../config";

const DAY_MS = 86_400_000;

const PRUNE_OLD_REJECTIONS = "DELETE FROM rejections WHERE at < ?1";
/** Ranked newest first within each source (unknown sources together); past the limit they go. */
const PRUNE_EXCESS_REJECTIONS = `DELETE FROM rejections WHERE rowid IN (
  SELECT rowid FROM (
    SELECT rowid, ROW_NUMBER() OVER (
      PARTITION BY CASE WHEN cause = 'unknown_source' THEN NULL ELSE source END ORDER BY at DESC, rowid DESC
    ) AS rank FROM rejections
  ) WHERE rank > ?1
)`;
const PRUNE_COUNTS = "DELETE FROM counts WHERE bucket < ?1";

/** Rows deleted (a type, not an interface: the cron logs it as fields). */
export type OverviewPruneResult = { readonly rejections: number; readonly counts: number };

export async function pruneOverview(env: Env, config: GatewayConfig, now: number): Promise<OverviewPruneResult> {
  const db = env.INDEX_DB;
  const [old, excess, counts] = await db.batch([
    db.prepare(PRUNE_OLD_REJECTIONS).bind(now - config.rejectionsRetentionDays * DAY_MS),
    db.prepare(PRUNE_EXCESS_REJECTIONS).bind(config.rejectionsPerSource),
    db.prepare(PRUNE_COUNTS).bind(now - config.indexRetentionDays * DAY_MS),
  ]);
  return { rejections: old!.meta.changes + excess!.meta.changes, counts: counts!.meta.changes };
}
