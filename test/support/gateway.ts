/**
 * Helpers for tests inside workerd: sign callbacks as each provider does, post them to the
 * Worker, drive the account's alarms, and read what the real origin received.
 */

import { createExecutionContext, runDurableObjectAlarm, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index";
import type { EventRow } from "../../src/ledger/schema";
import { concatBytes, digest, toBase64UrlPadded, toHex, utf8 } from "../../src/verify/crypto";
import cybavoDeposit from "../fixtures/cybavo/deposit-succeeded.json" with { type: "json" };
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
): Promise<Response> {
  const body = JSON.stringify(callback);
  return post(source, body, { "X-CHECKSUM": await cybavoChecksum(body, secret), ...headers });
}

export function ledger(source: string, account: string) {
  return env.LEDGER.get(env.LEDGER.idFromName(`${source}/${account}`));
}

export async function storedEvents(source: string, account: string): Promise<EventRow[]> {
  return ledger(source, account).events();
}

/**
 * Runs the account's alarms until its outbox holds nothing pending, fast-forwarding retries.
 * An alarm the runtime already started is waited for rather than run twice.
 */
export async function drain(source: string, account: string, maxRuns = 200): Promise<void> {
  const stub = ledger(source, account);
  for (let i = 0; i < maxRuns; i++) {
    await runDurableObjectAlarm(stub);
    const pending = (await stub.events(10_000)).filter((e) => e.state === "pending");
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

/** Events the real origin received and verified for one subject, in arrival order. */
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

/** Scripts the origin's next replies for one subject (status codes, or "hang"). */
export async function scriptOrigin(subject: string, replies: (number | "hang")[]): Promise<void> {
  await fetch(`${env.TEST_ORIGIN_URL}/_script`, { method: "POST", body: JSON.stringify({ subject, replies }) });
}

export interface OriginAttempt {
  id: string;
  subject: string;
  status: number | "hang";
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
