/**
 * Structured logs: one JSON line per event worth knowing, readable in `wrangler tail`.
 * Callers pass only identifiers, outcomes and timings: never a secret, a signature or a payload.
 */
export type LogFields = Record<string, string | number | boolean | undefined>;

export function log(message: string, fields: LogFields): void {
  console.log(JSON.stringify({ msg: message, ...fields }));
}
