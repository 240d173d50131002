/**
 * What the account objects write to the operators' index (docs/configuration.md "Index mode"):
 * - `all` (default): every event, as its state changes;
 * - `attention`: only what needs an operator: dead letters, quarantined callbacks and events
 *   pending longer than INDEX_PENDING_AFTER_SECONDS. A row already in the index is still
 *   brought up to date when its event leaves that state (an UPDATE, which writes nothing when
 *   the row is not there), so the lists never show a redelivered dead letter as dead.
 * - `off`: nothing is written; the console's lists and searches stay as they were (the overview's
 *   counts and the rejected requests are still recorded). Switching back to `all` or `attention`
 *   indexes what each account object still keeps, from where its feed stopped.
 */
export const INDEX_MODES = ["all", "attention", "off"] as const;
export type IndexMode = (typeof INDEX_MODES)[number];

/** INDEX_MODE from the bindings; a wrong value is an error naming the field (the mode is then `all`). */
export function readIndexMode(env: Record<string, unknown>, errors: string[]): IndexMode {
  const value = env.INDEX_MODE;
  if (value === undefined || value === "") return "all";
  if (typeof value === "string" && (INDEX_MODES as readonly string[]).includes(value)) return value as IndexMode;
  errors.push(`INDEX_MODE: must be one of ${INDEX_MODES.join(", ")}`);
  return "all";
}
