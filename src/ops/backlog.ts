/**
 * `gateway.backlog.stale`: an account's oldest pending event was received more than
 * OPS_BACKLOG_SECONDS ago. Read from D1 `accounts` (migrations/0001_index.sql), the row each
 * account object rewrites with its index batches (backlog, oldest pending), by the cron (every 15
 * minutes): the event comes at most one cron interval after the threshold is crossed, plus the
 * index's own lag (an account's row is rewritten when it changes, and at least every minute
 * while its object runs). With INDEX_MODE "off" nothing writes `accounts`, and this never fires.
 *
 * An episode lasts from the cron run that finds the account stale to the first that finds its
 * oldest pending event newer than the threshold (or none). The operations feed's own account
 * (`~ops`) is never checked: its backlog is the operations webhook failing.
 */
import type { GatewayConfig } from "../config";
import { OPS_SOURCE } from "../destinations";
import { type Episode, notify, unnotified } from "./conditions";
import { backlogStale } from "./events";

const KIND = "backlog_stale";

export type BacklogCheck = {
  readonly started: number;
  readonly ended: number;
  readonly notified: number;
};

/**
 * Starts, ends and notifies the episodes at `now`, in SQL over `accounts` (one scan of it per
 * run; nothing the size of the backlog crosses to the Worker). Throws when D1 fails.
 */
export async function checkBacklog(env: Env, config: GatewayConfig, now: number): Promise<BacklogCheck> {
  if (config.ops === undefined) return { started: 0, ended: 0, notified: 0 };
  const db = env.INDEX_DB;
  const cutoff = now - config.opsBacklogSeconds * 1000;
  const [started, ended, pending] = await db.batch<Episode>([
    db
      .prepare(
        `INSERT INTO ops_conditions (kind, source, account, started_at)
         SELECT ?1, source, account, ?2 FROM accounts WHERE oldest_pending_at <= ?3 AND source != ?4
         ON CONFLICT DO NOTHING`,
      )
      .bind(KIND, now, cutoff, OPS_SOURCE),
    db
      .prepare(
        `DELETE FROM ops_conditions WHERE kind = ?1 AND NOT EXISTS (
           SELECT 1 FROM accounts AS a WHERE a.source = ops_conditions.source AND a.account = ops_conditions.account
             AND a.oldest_pending_at <= ?2)`,
      )
      .bind(KIND, cutoff),
    unnotified(db, KIND),
  ]);
  const episodes = pending!.results;
  // The facts of each episode to notify, read now: its backlog as the index holds it.
  const facts = new Map<string, { pending: number; oldest: number }>();
  if (episodes.length > 0) {
    const { results } = await db
      .prepare(
        `SELECT a.source, a.account, a.pending, a.oldest_pending_at AS oldest FROM accounts AS a
         JOIN json_each(?1) AS e ON a.source = e.value ->> 0 AND a.account = e.value ->> 1`,
      )
      .bind(JSON.stringify(episodes.map((e) => [e.source, e.account])))
      .all<{ source: string; account: string; pending: number; oldest: number | null }>();
    for (const row of results) {
      if (row.oldest !== null) facts.set(JSON.stringify([row.source, row.account]), { pending: row.pending, oldest: row.oldest });
    }
  }
  const notified = await notify(
    env,
    KIND,
    episodes,
    (episode) => {
      const fact = facts.get(JSON.stringify([episode.source, episode.account]));
      if (fact === undefined) return undefined;
      return backlogStale({
        source: episode.source,
        account: episode.account,
        pending: fact.pending,
        oldestPendingAt: fact.oldest,
        thresholdSeconds: config.opsBacklogSeconds,
        startedAt: episode.startedAt,
      });
    },
    now,
  );
  return { started: started!.meta.changes, ended: ended!.meta.changes, notified };
}
