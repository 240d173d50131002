/**
 * Structured logs: one JSON line per event worth knowing, readable in `wrangler tail`.
 * Callers pass only identifiers, outcomes and timings: never a secret, a signature or a payload.
 *
 * Every line has a level (docs/operations.md "Structured logs"):
 * - `info`: an expected outcome, including the unwelcome ones the gateway is built to absorb
 *   (duplicates, forged or stale signatures, oversized bodies);
 * - `warn`: degraded: the gateway copes, but something is failing (storage overloaded, KV down,
 *   a verified callback quarantined);
 * - `error`: needs a person (a storage error the platform does not call transient, a bug).
 * The level picks the console method too, so Workers Logs and `wrangler tail` show it.
 */
export type LogLevel = "info" | "warn" | "error";

export type LogFields = Record<string, string | number | boolean | undefined>;

const METHOD = { info: "log", warn: "warn", error: "error" } as const;

function isLevel(value: unknown): value is LogLevel {
  return value === "info" || value === "warn" || value === "error";
}

/**
 * Writes one line. The level is a field like any other (`{ level: "warn", ... }`), so callers
 * written before levels existed keep working and log at `info`.
 */
export function log(message: string, fields: LogFields & { level?: LogLevel }): void {
  const { level: given, ...rest } = fields;
  const level = isLevel(given) ? given : "info";
  // Looked up at each call, so a test's spy on `console.warn` sees the line.
  console[METHOD[level]](JSON.stringify({ msg: message, level, ...rest }));
}
