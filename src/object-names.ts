/**
 * Names of the AccountLedger Durable Objects. Account keys come from signed payloads, so a
 * provider (or anyone holding its secret) chooses them freely, including the names of the
 * gateway's own per-source objects. The two namespaces are kept apart, without renaming any
 * object that holds data today:
 * - an internal object is `{source}/~{name}`: one `~`, then a name that does not start with `~`;
 * - an account's object is `{source}/{account}`, except that an account key starting with `~`
 *   gets one more `~` in front.
 * The account mapping is injective (strip one `~` to invert it), and its image never holds a
 * name with exactly one leading `~`, so no account reaches `~stats` or `~quarantine`. Source
 * names never contain `/` (src/config.ts), so the prefix is unambiguous too. Only accounts whose
 * key starts with `~` moved (in 0.2), and those were refused by the operator API before.
 */
/** The per-source internal objects: counters, and callbacks the adapters could not read. */
export type InternalObject = "~stats" | "~quarantine";

export function accountObjectName(source: string, account: string): string {
  return `${source}/${account.startsWith("~") ? `~${account}` : account}`;
}

export function internalObjectName(source: string, name: InternalObject): string {
  return `${source}/${name}`;
}

/** The ledger of one provider account. */
export function accountLedger(env: Env, source: string, account: string) {
  return env.LEDGER.get(env.LEDGER.idFromName(accountObjectName(source, account)));
}

/** One of a source's internal objects. */
export function internalLedger(env: Env, source: string, name: InternalObject) {
  return env.LEDGER.get(env.LEDGER.idFromName(internalObjectName(source, name)));
}
