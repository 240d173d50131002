/**
 * The operators' D1 index (binding INDEX_DB) as the tests see it: its rows for one account, and
 * the real database behind a Proxy that fails or counts, given to one ledger instance through
 * `setLedgerEnv` (./ledger-faults.ts), as the KV outage tests do for KV. Nothing in src/ knows.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { AccountLedger } from "../../src/ledger/AccountLedger";

/** One row of the index's `events` table as the tests compare it. */
export interface IndexedRow extends Record<string, unknown> {
  id: string;
  source: string;
  account: string;
  seq: number;
  type: string | null;
  status: string;
  amount: string | null;
  currency: string | null;
  refs: string;
  received_at: number;
  delivered_at: number | null;
  attempts: number;
  last_status: number | null;
  next_attempt_at: number | null;
  reason: string | null;
  indexed_at: number;
}

/** Every index row of one account, in `seq` order. */
export async function indexedRows(source: string, account: string): Promise<IndexedRow[]> {
  const { results } = await env.INDEX_DB.prepare("SELECT * FROM events WHERE source = ? AND account = ? ORDER BY seq")
    .bind(source, account)
    .all<IndexedRow>();
  return results;
}

/** The references the index holds for one event id. */
export async function indexedRefs(id: string): Promise<string[]> {
  const { results } = await env.INDEX_DB.prepare("SELECT ref FROM refs WHERE id = ? ORDER BY ref").bind(id).all<{ ref: string }>();
  return results.map((r) => r.ref);
}

/** The index's row for one account object, if any. */
export async function accountRow(source: string, account: string): Promise<Record<string, unknown> | null> {
  return env.INDEX_DB.prepare("SELECT * FROM accounts WHERE source = ? AND account = ?").bind(source, account).first();
}

/**
 * A D1 database during an outage: statements are prepared and bound as usual (D1 runs nothing
 * until asked), and every call that runs one (`batch`, `run`, `all`, `first`, `raw`, `exec`,
 * `dump`) rejects.
 */
export function failingD1(): D1Database {
  const unavailable = () => Promise.reject(new Error("D1 unavailable (test)"));
  const statement: D1PreparedStatement = new Proxy({} as D1PreparedStatement, {
    get: (_target, name) => (name === "then" ? undefined : name === "bind" ? () => statement : unavailable),
  });
  return new Proxy({} as D1Database, {
    get: (_target, name) => (name === "then" ? undefined : name === "prepare" ? () => statement : unavailable),
  });
}

/** What a counting wrapper saw: calls by method name, and the rows each `batch` wrote (D1's own meta). */
export interface D1Calls {
  calls: Record<string, number>;
  rowsWritten: number[];
}

/** The real database, with every call counted and each batch's `rows_written` (summed over its statements) recorded. */
export function countingD1(real: D1Database, seen: D1Calls): D1Database {
  return new Proxy(real, {
    get: (target, name) => {
      const value = Reflect.get(target, name) as unknown;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        seen.calls[String(name)] = (seen.calls[String(name)] ?? 0) + 1;
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (name !== "batch") return result;
        return (result as Promise<D1Result[]>).then((results) => {
          seen.rowsWritten.push(results.reduce((sum, r) => sum + (r.meta.rows_written ?? 0), 0));
          return results;
        });
      };
    },
  });
}

/**
 * Clears the index feed's back-off after a D1 failure, as if its wait had passed (the back-off is
 * in memory: src/ledger/index-feed.ts), so a test's next alarm run tries D1 at once.
 */
export async function backOffPassed(stub: DurableObjectStub<AccountLedger>): Promise<void> {
  await runInDurableObject(stub, (instance: AccountLedger) => {
    (instance as unknown as { index: { retryAt: number | undefined } }).index.retryAt = undefined;
  });
}
