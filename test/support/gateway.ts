/**
 * Helpers for tests inside workerd: sign callbacks as each provider does, post them to the
 * Worker, drive the account's alarms, and read what the real origin received.
 */

import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import worker from "../../src/index";
import { QUARANTINE_ACCOUNT } from "../../src/ingress";
import type { EventRow } from "../../src/ledger/schema";
import cybavoDeposit from "../../src/providers/cybavo/fixtures/deposit-succeeded.json" with { type: "json" };
import { type Counter, count, flushIfDue, statsLedger } from "../../src/stats";
import { concatBytes, digest, toBase64UrlPadded, toHex, utf8 } from "../../src/verify/crypto";
import { runAlarmNow } from "./alarms";
import { makeDueIn } from "./ledger-sql";
import { TEST_SECRETS } from "./test-config";

export const secrets = TEST_SECRETS;

/** CYBAVO's scheme, written from its docs: base64url(SHA-256(body ‖ secret)) with padding. */
export async function cybavoChecksum(body: string, secret: string = TEST_SECRETS.CYBAVO_API_SECRET): Promise<string> {
  return toBase64UrlPadded(await digest("SHA-256", concatBytes(utf8(body), utf8(secret))));
}

/**
 * Cregis' scheme as its SDKs implement it, over a JSON text built by the caller: `fields` are
 * [key, JSON text of the value] pairs, so integers too large for a double stay exact.
 */
export async function cregisBody(fields: [string, string][], apiKey: string = TEST_SECRETS.CREGIS_API_KEY): Promise<string> {
  const signed = fields
    .filter(([, json]) => json !== "null" && json !== '""')
    .map(([key, json]) => [key, json.startsWith('"') ? (JSON.parse(json) as string) : json] as const)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => k + v)
    .join("");
  const sign = toHex(await digest("MD5", utf8(apiKey + signed)));
  return `{${[...fields, ["sign", JSON.stringify(sign)]].map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`;
}

/** Turns an object into the [key, JSON text] pairs `cregisBody` takes. */
export function jsonFields(object: Record<string, unknown>): [string, string][] {
  return Object.entries(object).map(([k, v]) => [k, JSON.stringify(v)]);
}

/**
 * Calls the Worker's fetch handler in this isolate, with the real bindings, and waits for its
 * `waitUntil` work (the edge-cache write). In-process calls avoid a loopback socket per request,
 * which matters for the tests that send thousands.
 */
export async function call(request: Request, bindings: Env = env): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(request as Parameters<typeof worker.fetch>[0], bindings, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

export function post(source: string, body: string | Uint8Array, headers: Record<string, string> = {}, bindings?: Env): Promise<Response> {
  const request = new Request(`https://gateway.test/webhooks/${source}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: body as BodyInit,
  });
  return call(request, bindings);
}

export async function postCybavo(
  source: string,
  callback: object,
  secret?: string,
  headers: Record<string, string> = {},
  bindings?: Env,
): Promise<Response> {
  const body = JSON.stringify(callback);
  return post(source, body, { "X-CHECKSUM": await cybavoChecksum(body, secret), ...headers }, bindings);
}

export function ledger(source: string, account: string) {
  return env.LEDGER.get(env.LEDGER.idFromName(`${source}/${account}`));
}

/**
 * Every row of an account's ledger, oldest first. Paged: one `events()` call returns at most
 * 1,000 rows (100 by default), and a check over a truncated list would pass for rows it never saw.
 */
export async function storedEvents(source: string, account: string): Promise<EventRow[]> {
  const stub = ledger(source, account);
  const rows: EventRow[] = [];
  for (;;) {
    const page = await stub.events({ limit: 1000, afterSeq: rows.at(-1)?.seq ?? 0 });
    rows.push(...page);
    if (page.length < 1000) return rows;
  }
}

/** The rows of `after` that `before` did not have (by id): what one step of a test stored. */
export function newRows(before: readonly EventRow[], after: readonly EventRow[]): EventRow[] {
  const known = new Set(before.map((row) => row.id));
  return after.filter((row) => !known.has(row.id));
}

/** The raw bytes kept for a quarantined callback, as text. */
export async function quarantinedText(source: string, id: string): Promise<string | undefined> {
  const raw = await ledger(source, QUARANTINE_ACCOUNT).raw(id);
  return raw === undefined ? undefined : new TextDecoder().decode(raw);
}

/**
 * Runs the account's alarms until its outbox holds nothing pending, fast-forwarding retries.
 * An alarm the runtime is already firing or running is waited for rather than taken from it or
 * run twice (./alarms.ts).
 */
export async function drain(source: string, account: string, maxRuns = 200): Promise<void> {
  const stub = ledger(source, account);
  for (let i = 0; i < maxRuns; i++) {
    // Fast-forward: the outbox sends only due events, so retries waiting for their time are
    // made due now (the alarm is always set while anything is pending).
    await runInDurableObject(stub, (_instance, state) => {
      makeDueIn(state.storage.sql);
    });
    await runAlarmNow(stub);
    // Asked of the ledger directly: a filter over one page of rows would miss pending rows past it.
    const pending = await stub.events({ state: "pending", limit: 1 });
    if (pending.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`outbox of ${source}/${account} still has pending events after ${maxRuns} alarm runs`);
}

export interface OriginEvent {
  id: string;
  headers: Record<string, string>;
  body: string;
  json: { id: string; type: string; subject: string; data: Record<string, unknown> & { status: string } };
}

/**
 * Events the real origin received and verified for one subject, in arrival order. The origin
 * serves every test file (each with its own storage), so only a subject this file alone uses
 * (uniqueAccount, a random id) proves that this file's gateway delivered an event.
 */
export async function originEvents(subject: string): Promise<OriginEvent[]> {
  const response = await fetch(`${env.TEST_ORIGIN_URL}/_events?subject=${encodeURIComponent(subject)}`);
  return response.json();
}

/** A fresh account id, so tests never share an account's outbox. */
let counter = 0;
export function uniqueAccount(): number {
  counter += 1;
  return Number(`${Date.now() % 1_000_000_000}${String(counter).padStart(3, "0")}`);
}

/** The CYBAVO seed-doc deposit sample (the `deposit-succeeded` fixture) with a fresh serial. */
export function cybavoCallback(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...cybavoDeposit, serial: uniqueAccount(), ...overrides };
}

/** One scripted reply: a status code, "hang", or a status sent with a `Retry-After` header. */
export type ScriptedReply = number | "hang" | { status: number; retryAfter: string };

/** Scripts the origin's next replies for one subject. */
export async function scriptOrigin(subject: string, replies: ScriptedReply[]): Promise<void> {
  await fetch(`${env.TEST_ORIGIN_URL}/_script`, { method: "POST", body: JSON.stringify({ subject, replies }) });
}

export interface OriginAttempt {
  id: string;
  subject: string;
  status: number | "hang";
  /** When the origin received it (Unix ms). */
  at: number;
}

/** Every attempt the origin saw for one subject, with the reply it gave. */
export async function originAttempts(subject: string): Promise<OriginAttempt[]> {
  return (await fetch(`${env.TEST_ORIGIN_URL}/_attempts?subject=${encodeURIComponent(subject)}`)).json();
}

/** Calls the operator API with the configured token (or another). */
export function admin(method: string, path: string, token: string | null = TEST_SECRETS.ADMIN_TOKEN): Promise<Response> {
  const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
  return call(new Request(`https://gateway.test/admin${path}`, { method, headers }));
}

/** One structured log line (src/log.ts), parsed. */
export type LogLine = Record<string, unknown> & { msg: string };

/**
 * Runs `action` and returns the structured log lines it wrote (every console level), parsed;
 * lines that are not JSON are left out. Nothing is printed while it runs.
 */
export async function captureLogs<T>(action: () => Promise<T>): Promise<{ result: T; lines: LogLine[] }> {
  const lines: LogLine[] = [];
  const spies = (["log", "info", "warn", "error", "debug"] as const).map((level) =>
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      try {
        const parsed: unknown = JSON.parse(args.map(String).join(" "));
        if (typeof parsed === "object" && parsed !== null && "msg" in parsed) lines.push(parsed as LogLine);
      } catch {
        // Not a structured line (a runtime message): not what these tests read.
      }
    }),
  );
  try {
    return { result: await action(), lines };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

/**
 * Bindings whose account ledgers cannot be reached: every call on a ledger stub rejects. A
 * request answered with these bindings was answered without the Durable Object (the edge cache).
 */
export function unreachableLedgers(): Env {
  const stub = new Proxy(
    {},
    {
      // `then` stays undefined, or awaiting the stub itself would call it.
      get: (_target, name) => (name === "then" ? undefined : () => Promise.reject(new Error("ledger unreachable (test)"))),
    },
  );
  return { ...env, LEDGER: { idFromName: (name: string) => env.LEDGER.idFromName(name), get: () => stub } } as unknown as Env;
}

/** The source name whose counters take the test's own flush markers (never a configured source). */
const FLUSH_MARKER = "~test-flush";

/**
 * Flushes every count the isolate holds, now, and sets the isolate's flush clock to `clock`:
 * with a clock in the future, no request or alarm flushes on its own until it passes (src/stats.ts
 * flushes when STATS_FLUSH_MS has passed since the last flush). `flushIfDue` only flushes, and only
 * moves the clock, when it has something to write: the marker count on a source of its own makes
 * sure it has, without touching any real source's counters.
 */
async function flushCountersAt(clock: number): Promise<void> {
  count(FLUSH_MARKER, "do_requests");
  await flushIfDue(env, clock, Number.NEGATIVE_INFINITY);
}

/**
 * Runs `action` with the isolate's counter flushes held, then flushes exactly once and returns
 * how much each of `source`'s counters grew, as `read` reports them (default: the stats object). Counters are batched per isolate and flushed
 * whenever STATS_FLUSH_MS has passed, so without the hold the number of flushes (each one a
 * Durable Object request, counted in `do_requests`) would depend on timing. With it, every count
 * the action made is in the result, and the flush adds exactly one `do_requests`.
 * The Durable Objects run in this isolate (@cloudflare/vitest-plugin), so their counts are held too.
 */
export async function counterDeltas(
  source: string,
  action: () => Promise<void>,
  read: () => Promise<Record<string, number>> = () => statsLedger(env, source).counters(),
): Promise<Partial<Record<Counter, number>>> {
  await flushCountersAt(Date.now() + 3_600_000);
  try {
    const before = await read();
    await action();
    await flushCountersAt(Date.now());
    const after = await read();
    const deltas: Partial<Record<Counter, number>> = {};
    for (const [name, value] of Object.entries(after)) {
      const delta = value - (before[name] ?? 0);
      if (delta !== 0) deltas[name as Counter] = delta;
    }
    return deltas;
  } finally {
    // Whatever happened, the clock is back to now: later tests flush as the gateway does.
    await flushCountersAt(Date.now());
  }
}

/**
 * Waits (bounded) until the account's own alarm, scheduled by the runtime and not forced by the
 * test, has delivered everything and armed the next retention prune: its run is then over, and
 * exactly the runs the runtime made are in the counters.
 */
export async function deliveredByOwnAlarm(source: string, account: string, timeoutMs = 10_000): Promise<void> {
  const stub = ledger(source, account);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pending = await stub.events({ state: "pending", limit: 1 });
    const alarm = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
    if (pending.length === 0 && alarm !== null && alarm > Date.now() + 60_000) return;
    if (Date.now() > deadline) throw new Error(`${source}/${account}: still pending or alarm not re-armed after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
