/**
 * `gateway.source.rejections_high`: a configured source's refused requests (src/rejections.ts:
 * 4xx answers to requests that did not verify, were too large, came from outside the allow-list
 * or replayed a nonce) reach OPS_REJECTIONS_THRESHOLD within OPS_REJECTIONS_WINDOW_SECONDS. Most
 * often the provider signs with a secret the gateway does not have. Counted from D1
 * `rejections` (summary rows carry their count), so the requests every isolate refused add up.
 *
 * Checked right after an isolate writes its rejections to D1 (for the sources it wrote: at most
 * STATS_FLUSH_MS after a request, so the event comes within about that once the threshold is
 * reached), and by the cron (every 15 minutes), which also ends the episodes of sources back
 * under the threshold. An episode lasts from the check that finds the source at or over the
 * threshold to the first cron run that finds it under: one event per episode. Requests to
 * unknown sources never count: their names are whoever sends them.
 */
import type { GatewayConfig } from "../config";
import { type Episode, notify, unnotified } from "./conditions";
import { rejectionsHigh } from "./events";

const KIND = "rejections_high";

export type RejectionsCheck = {
  /** Sources at or over the threshold now. */
  readonly high: number;
  readonly notified: number;
};

/**
 * Checks `sources` (default: every configured source) at `now`. `end`: also end the episodes of
 * sources under the threshold (the cron's full check; a flush's check of a few sources only
 * starts them). Throws when D1 fails (the caller logs it; the next check takes it up).
 */
export async function checkRejections(
  env: Env,
  config: GatewayConfig,
  now: number,
  options: { readonly sources?: readonly string[]; readonly end: boolean },
): Promise<RejectionsCheck> {
  if (config.ops === undefined) return { high: 0, notified: 0 };
  const names = (options.sources ?? [...config.sources.keys()]).filter((name) => config.sources.has(name));
  const db = env.INDEX_DB;
  const rows =
    names.length === 0
      ? []
      : (
          await db
            .prepare(
              `SELECT source, cause, SUM(count) AS n FROM rejections
               WHERE source IN (SELECT value FROM json_each(?1)) AND at > ?2 AND cause != 'unknown_source'
               GROUP BY source, cause`,
            )
            .bind(JSON.stringify(names), now - config.opsRejectionsWindowSeconds * 1000)
            .all<{ source: string; cause: string; n: number }>()
        ).results;
  const causes = new Map<string, Record<string, number>>();
  for (const row of rows) causes.set(row.source, { ...causes.get(row.source), [row.cause]: row.n });
  const total = (source: string) => Object.values(causes.get(source) ?? {}).reduce((sum, n) => sum + n, 0);
  const high = names.filter((name) => total(name) >= config.opsRejectionsThreshold);
  const statements = [
    db
      .prepare(
        `INSERT INTO ops_conditions (kind, source, account, started_at)
         SELECT ?1, value, '', ?2 FROM json_each(?3) WHERE true ON CONFLICT DO NOTHING`,
      )
      .bind(KIND, now, JSON.stringify(high)),
  ];
  // The cron ends every episode whose source is not high now, a source no longer configured too.
  if (options.end) {
    statements.push(
      db
        .prepare("DELETE FROM ops_conditions WHERE kind = ?1 AND source NOT IN (SELECT value FROM json_each(?2))")
        .bind(KIND, JSON.stringify(high)),
    );
  }
  statements.push(unnotified(db, KIND));
  const results = await db.batch<Episode>(statements);
  // Only the episodes this check has the counts of; others wait for a check of their source.
  const episodes = results.at(-1)!.results.filter((episode) => high.includes(episode.source));
  const notified = await notify(
    env,
    KIND,
    episodes,
    (episode) =>
      rejectionsHigh({
        source: episode.source,
        rejections: total(episode.source),
        causes: causes.get(episode.source) ?? {},
        threshold: config.opsRejectionsThreshold,
        windowSeconds: config.opsRejectionsWindowSeconds,
        startedAt: episode.startedAt,
      }),
    now,
  );
  return { high: high.length, notified };
}
