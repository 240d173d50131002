/**
 * The Worker's cron work (`[triggers] crons` in wrangler.toml): bounded maintenance of the
 * operators' D1 database, and the checks of the operational events' conditions (src/ops/: a
 * source's rejections, an account's backlog; no-ops without OPS_WEBHOOK_URL). Each task runs on
 * its own: one that fails is logged (`msg: "scheduled_error"`, level warn) and the next still
 * runs; whatever a run leaves, the next run takes up. A task returns what it did, logged as one
 * `msg: "scheduled"` line.
 */
import { type GatewayConfig, loadConfig } from "./config";
import { pruneIndex } from "./index-db/retention";
import { type LogFields, log } from "./log";
import { checkBacklog, checkRejections } from "./ops";
import { pruneOverview } from "./overview/retention";
import { MESSAGE_LIMIT } from "./platform-errors";

export type ScheduledTask = readonly [name: string, run: (env: Env, config: GatewayConfig, now: number) => Promise<LogFields>];

/** Every task of a cron run, in order. */
export const SCHEDULED_TASKS: readonly ScheduledTask[] = [
  ["index_retention", (env, config, now) => pruneIndex(env.INDEX_DB, now, config.indexRetentionDays)],
  ["overview_retention", (env, config, now) => pruneOverview(env, config, now)],
  ["ops_rejections", (env, config, now) => checkRejections(env, config, now, { end: true })],
  ["ops_backlog", (env, config, now) => checkBacklog(env, config, now)],
];

/**
 * Runs every task at `now` (the trigger's scheduled time). With an invalid configuration
 * nothing runs: the retention it would apply is unknown (the `config_invalid` line says why).
 */
export async function runScheduled(env: Env, now: number): Promise<void> {
  const loaded = loadConfig(env);
  if (!loaded.ok) return;
  for (const [task, run] of SCHEDULED_TASKS) {
    const started = Date.now();
    try {
      const done = await run(env, loaded.config, now);
      log("scheduled", { task, ...done, ms: Date.now() - started });
    } catch (err) {
      // D1 unavailable or a statement refused: nothing is lost (the rows stay until a later run).
      const message = err instanceof Error ? err.message : String(err);
      log("scheduled_error", {
        level: "warn",
        task,
        error: err instanceof Error ? err.name : "Error",
        message: message.length > MESSAGE_LIMIT ? `${message.slice(0, MESSAGE_LIMIT)}…` : message,
      });
    }
  }
}
