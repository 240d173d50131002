/**
 * Faults and probes for one account ledger, inside workerd with the real bindings.
 *
 * The Durable Object gets its bindings from the runtime, not from the test, so a fault is
 * injected by wrapping the running instance's own `env` (runInDurableObject gives the instance,
 * which lives in this isolate): the real KV namespace, D1 database and Durable Object namespace
 * sit behind a Proxy that throws, or that calls a hook before passing the call on. Nothing in
 * src/ knows.
 * The wrap lasts as long as that instance (until it is evicted or aborted).
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { eventId } from "../../src/ingress";
import type { AcceptInput, AccountLedger } from "../../src/ledger/AccountLedger";
import { ledger } from "./gateway";
import { failingD1 } from "./index-db";
import { allRows, makeDueIn } from "./ledger-sql";

type Ledger = DurableObjectStub<AccountLedger>;

/** A KV namespace on which every call rejects, as during a KV outage. */
export function failingKv(): KVNamespace {
  return new Proxy({} as KVNamespace, {
    get: (_target, name) => (name === "then" ? undefined : () => Promise.reject(new Error("KV unavailable (test)"))),
  });
}

/** A D1 database whose `batch` calls (the awaited ones) run `hook(label)` first; `prepare` and `bind` stay synchronous. */
function hookedD1(real: D1Database, hook: (point: string) => Promise<void>): D1Database {
  return new Proxy(real, {
    get: (target, name) => {
      const value = Reflect.get(target, name) as unknown;
      if (typeof value !== "function") return value;
      if (name !== "batch") return (value as (...a: unknown[]) => unknown).bind(target);
      return async (...args: unknown[]) => {
        await hook("INDEX_DB.batch");
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/**
 * The instance's bindings with every awaited call of an alarm run behind `hook`: the
 * operators' index (an INDEX_DB batch) and the counters flush (a call on a LEDGER stub).
 */
export function hookedEnv(real: Env, hook: (point: string) => Promise<void>): Env {
  const namespace = real.LEDGER;
  const ledgers = {
    idFromName: (name: string) => namespace.idFromName(name),
    get: (id: DurableObjectId) => {
      const stub = namespace.get(id);
      return new Proxy(stub, {
        get: (target, name) => {
          if (name === "then") return undefined;
          return async (...args: unknown[]) => {
            await hook(`LEDGER.${String(name)}`);
            return (Reflect.get(target, name) as (...a: unknown[]) => unknown)(...args);
          };
        },
      });
    },
  };
  return { ...real, INDEX_DB: hookedD1(real.INDEX_DB, hook), LEDGER: ledgers } as unknown as Env;
}

/** Replaces the bindings of the account's running ledger instance; returns a function that restores them. */
export async function setLedgerEnv(stub: Ledger, make: (real: Env) => Env): Promise<() => Promise<void>> {
  const real = await runInDurableObject(stub, (instance: AccountLedger) => {
    const holder = instance as unknown as { env: Env };
    const original = holder.env;
    holder.env = make(original);
    return original;
  });
  return async () => {
    await runInDurableObject(stub, (instance: AccountLedger) => {
      (instance as unknown as { env: Env }).env = real;
    });
  };
}

/** Makes the account's ledger see KV (the edge cache) failing on every call. */
export function failKvIn(stub: Ledger): Promise<() => Promise<void>> {
  return setLedgerEnv(stub, (real) => ({ ...real, SEEN: failingKv() }));
}

/** Makes the account's ledger see the operators' index (D1) failing on every call. */
export function failD1In(stub: Ledger): Promise<() => Promise<void>> {
  return setLedgerEnv(stub, (real) => ({ ...real, INDEX_DB: failingD1() }));
}

/** Bindings for the Worker (ingress, admin) with KV failing. */
export function workerEnvWithKvDown(): Env {
  return { ...env, SEEN: failingKv() } as Env;
}

export interface LedgerState {
  /** The scheduled alarm (Unix ms), or null. */
  alarm: number | null;
  /** When this was read (Unix ms). */
  readAt: number;
  /** The oldest pending row: the outbox head. */
  head?: { seq: number; id: string; next_attempt_at: number };
  /** Rows of `events` whose row in the operators' index is still to be written (`indexed = 0`). */
  indexWork: number;
}

/**
 * The ledger's scheduling state, read between delivery runs: while a run is in progress the
 * runtime has taken its alarm (getAlarm() is null) and the run sets the next one when it ends,
 * so a run in progress is waited for (bounded).
 */
export async function ledgerState(stub: Ledger): Promise<LedgerState> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const state = await readState(stub);
    if (state !== "running") return state;
    if (Date.now() > deadline) throw new Error("a delivery run did not end within 10 s");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function readState(stub: Ledger): Promise<LedgerState | "running"> {
  return runInDurableObject(stub, async (instance: AccountLedger, state) => {
    if ((instance as unknown as { delivering: boolean }).delivering) return "running";
    const sql = state.storage.sql;
    const pending = allRows(sql).find((r) => r.state === "pending");
    const head = pending && { seq: pending.seq, id: pending.id, next_attempt_at: pending.next_attempt_at ?? 0 };
    const indexWork = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM events WHERE indexed = 0").one().n;
    return { alarm: await state.storage.getAlarm(), readAt: Date.now(), ...(head && { head }), indexWork };
  });
}

/** What is wrong with the schedule, if anything (see `expectScheduled`). */
function scheduleProblem(state: LedgerState): string | undefined {
  if (state.head !== undefined) {
    if (state.alarm === null) return `pending ${state.head.id} but no alarm`;
    // workerd stores an alarm set in the past as the time it was set: due at once either way.
    if (state.alarm > Math.max(state.head.next_attempt_at, state.readAt)) {
      return `alarm ${state.alarm} after the head's due time ${state.head.next_attempt_at}`;
    }
  }
  if (state.indexWork > 0) {
    if (state.alarm === null) return "index work but no alarm";
    if (state.alarm > Date.now() + 5 * 60_000) return `index retry at ${state.alarm}, later than 5 min`;
  }
  return undefined;
}

/**
 * The scheduling invariant: while anything is pending the alarm is set, and no later than the
 * head's due time; while index work waits, the alarm is set (a retry wake-up, 5 min at most).
 * When the runtime starts an alarm it takes it (getAlarm() is null) a moment before the
 * handler runs, so a missing alarm is read again for up to a second: a stranded outbox stays
 * wrong, a starting run does not.
 */
export async function expectScheduled(stub: Ledger, context = ""): Promise<LedgerState> {
  const deadline = Date.now() + 1_000;
  for (;;) {
    const state = await ledgerState(stub);
    const problem = scheduleProblem(state);
    if (problem === undefined) return state;
    if (Date.now() > deadline) expect(problem, context).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Makes every pending row of the account due now (fast-forwards retries without running anything). */
export async function makeDue(stub: Ledger): Promise<void> {
  await runInDurableObject(stub, (_instance, state) => {
    makeDueIn(state.storage.sql);
  });
}

/**
 * A claim as the Worker makes it, for calling the ledger directly: a minimal CloudEvent body
 * (the test origin reads its `subject`) under the real event id.
 */
export async function acceptInput(source: string, account: string, key: string): Promise<AcceptInput> {
  const id = await eventId(source, account, key);
  const body = JSON.stringify({
    specversion: "1.0",
    id,
    source: `/sources/${source}`,
    type: "deposit.updated",
    subject: account,
    time: new Date().toISOString(),
    datacontenttype: "application/json",
    provider: "cybavo",
    data: { status: "succeeded", providerStatus: "test", payload: { key } },
  });
  return { id, source, account, idempotencyKey: key, type: "deposit.updated", body, receivedAt: Date.now() };
}

/** Waits (bounded) until `check` passes, polling; for what the runtime's own alarms do. */
export async function eventually(check: () => Promise<void>, timeoutMs = 15_000, everyMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  }
}

export { ledger };
