/**
 * Episodes of the conditions that raise an operational event when they start (D1
 * `ops_conditions`, migrations/0004_ops.sql): a check inserts a row for each subject it finds in
 * the condition (kept when already there: the episode goes on), deletes the rows of subjects it
 * finds out of it (the episode is over), and notifies the rows not yet notified. The event's key
 * names the episode by the row's `started_at`, which the database holds, not the check: two
 * checks racing on the same new episode (two isolates' rejection flushes) read the same row and
 * store one event, and a check whose notification failed leaves the row unnotified, so the next
 * check tries again under the same key. What a failed notification costs is delay, never a
 * second event.
 */
import { log } from "../log";
import { opsEvent } from "./emit";
import type { OpsEventInput } from "./events";

export type ConditionKind = "rejections_high" | "backlog_stale";

/** Notifications per check: a larger burst (many accounts stale at once) goes out over the next checks. */
export const NOTIFY_PER_CHECK = 100;

/** An episode still to notify, as the database holds it. */
export interface Episode {
  readonly source: string;
  readonly account: string;
  readonly startedAt: number;
}

/** The episodes of `kind` not yet notified, oldest first (at most NOTIFY_PER_CHECK). */
export function unnotified(db: D1Database, kind: ConditionKind): D1PreparedStatement {
  return db
    .prepare(
      `SELECT source, account, started_at AS startedAt FROM ops_conditions
       WHERE kind = ?1 AND notified_at IS NULL ORDER BY started_at LIMIT ?2`,
    )
    .bind(kind, NOTIFY_PER_CHECK);
}

/**
 * Stores the event of each episode (`build` gives it, or undefined when the facts it needs are
 * gone: left for the next check) and marks the stored ones notified. Returns how many were stored.
 */
export async function notify(
  env: Env,
  kind: ConditionKind,
  episodes: readonly Episode[],
  build: (episode: Episode) => OpsEventInput | undefined,
  now: number,
): Promise<number> {
  const stored: Episode[] = [];
  for (const episode of episodes) {
    const input = build(episode);
    if (input !== undefined && (await opsEvent(env, input)) === "stored") stored.push(episode);
  }
  if (stored.length === 0) return 0;
  try {
    await env.INDEX_DB.prepare(
      `UPDATE ops_conditions SET notified_at = ?2 WHERE kind = ?1 AND EXISTS (
         SELECT 1 FROM json_each(?3) WHERE value ->> 0 = source AND value ->> 1 = account AND value ->> 2 = started_at)`,
    )
      .bind(kind, now, JSON.stringify(stored.map((e) => [e.source, e.account, e.startedAt])))
      .run();
  } catch (err) {
    // The events are stored: the next check notifies these episodes again under the same keys,
    // which stores nothing new. Only the cost of a few ledger calls.
    log("ops_conditions", { level: "warn", kind, step: "mark_notified", error: err instanceof Error ? err.name : "Error" });
  }
  return stored.length;
}
