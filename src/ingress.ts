/**
 * The ingress pipeline for `POST /webhooks/{source}`:
 * size cap → verify over raw bytes → parse (valibot) → normalize → edge cache → claim in the
 * account's Durable Object → ack. Every exit is a reply from ./replies.ts; nothing is stored
 * for a request that does not verify, and nothing is acked that is not stored.
 */
import * as v from "valibot";
import type { GatewayConfig, SourceConfig } from "./config";
import { rememberAtEdge } from "./edge-cache";
import { eventId, legacyEventId } from "./event-id";
import { ipAllowed } from "./ip";
import { knownStored, noteRetry, rememberHere } from "./isolate-cache";
import type { AccountLedger, ClaimResult } from "./ledger/AccountLedger";
import { type LogFields, log } from "./log";
import { throttled } from "./log-throttle";
import { accountLedger, internalLedger } from "./object-names";
import { opsEvent, quarantined } from "./ops";
import { storageFailure } from "./platform-errors";
import type { Normalized, Replay, SignedFields, SignedRequest } from "./providers/provider";
import { type RejectionCause, recordRejection, rejectionOf } from "./rejections";
import { reply } from "./replies";
import { readBodyCapped } from "./request-body";
import { keptHeaders } from "./request-headers";
import { type Counter, count, flushIfDue } from "./stats";
import { eventRowProblem } from "./storage-limits";
import { digest, fromUtf8, toHex, utf8 } from "./verify/crypto";
import { jsonProblem } from "./verify/json-text";
import { prefixed } from "./verify/types";

export { eventId, legacyEventId } from "./event-id";

/**
 * Serializes the CloudEvent, splicing the provider's payload in as its original JSON text, so
 * numbers a double cannot hold (a 17-digit id) reach the origin unchanged.
 */
export function eventBody(source: SourceConfig, id: string, normalized: Normalized, receivedAt: number, payloadText: string): string {
  const envelope = {
    specversion: "1.0",
    id,
    source: `/sources/${source.name}`,
    type: normalized.event.type,
    subject: normalized.accountKey,
    time: normalized.time ?? new Date(receivedAt).toISOString(),
    datacontenttype: "application/json",
    provider: source.provider.name,
    data: normalized.event.data,
  };
  const json = JSON.stringify(envelope);
  // `data` is the last member and never empty, so the text ends with "}}".
  return `${json.slice(0, -2)},"payload":${payloadText.trim()}}}`;
}

type Parsed = { kind: "event"; normalized: Normalized; text: string } | { kind: "quarantine"; reason: string };

const quarantine = (reason: string): Parsed => ({ kind: "quarantine", reason });

/**
 * Decodes, parses and normalizes a verified body. Anything unreadable is quarantined, never
 * dropped, collapsed or truncated: text that is not strict UTF-8 or not one JSON value, a key
 * repeated in any object (parsers disagree on which one wins), nesting deeper than
 * MAX_JSON_DEPTH (so no reader, recursive or not, ever meets more), a payload no schema
 * matches, a value with no mapping, and an event without an account or idempotency key.
 */
export function parseVerified(source: SourceConfig, body: Uint8Array, signed?: SignedFields): Parsed {
  const text = fromUtf8(body);
  if (text === undefined) return quarantine("not UTF-8");
  const problem = jsonProblem(text);
  if (problem !== undefined) return quarantine(problem);
  const provider = source.provider;
  let view: unknown;
  let normalized: ReturnType<typeof provider.normalize>;
  try {
    const read = provider.view === undefined ? { value: JSON.parse(text) as unknown } : provider.view(text, source.options);
    if ("reason" in read) return quarantine(read.reason);
    view = read.value;
    const result = v.safeParse(provider.schema, view);
    if (!result.success) {
      const first = result.issues[0];
      return quarantine(`schema: ${first ? `${v.getDotPath(first) ?? "(root)"} ${first.message}` : "no match"}`);
    }
    normalized = provider.normalize(result.output, text, signed);
  } catch (err) {
    // An adapter bug must not lose a verified event or make the provider retry forever.
    adapterError(source, "normalize", err);
    return quarantine(`normalize failed: ${errorName(err)}`);
  }
  if ("unmapped" in normalized) return quarantine(`unmapped: ${normalized.unmapped}`);
  // An event is filed and deduped by these two: one that lacks either is kept for operators
  // rather than merged with every other event that lacks it.
  if (normalized.accountKey === "") return quarantine("no account key");
  if (normalized.idempotencyKey === "") return quarantine("no idempotency key");
  // An event no ledger row could hold is kept raw rather than refused on every retry.
  const tooLarge = eventRowProblem(eventBody(source, "", normalized, 0, ""), body.byteLength, normalized.idempotencyKey);
  if (tooLarge !== undefined) return quarantine(tooLarge);
  return { kind: "event", normalized, text };
}

const errorName = (err: unknown) => (err instanceof Error ? err.name : "Error");
/** A provider adapter threw on a verified body: a bug for a person, named; the caller keeps the body. */
const adapterError = (source: SourceConfig, step: "normalize" | "signedContent", err: unknown) =>
  log("adapter_error", { level: "error", source: source.name, provider: source.provider.name, step, error: errorName(err) });

/**
 * A quarantined callback's identity: the hash of what its signature covers after removing what
 * the signature ignores (the provider's `signedContent`, else the body bytes), so
 * signature-equivalent variants are one quarantine entry.
 */
export async function quarantineKey(source: SourceConfig, body: Uint8Array, signed?: SignedFields): Promise<string> {
  // Not UTF-8: the provider has no signed reading of it; the bytes are the identity, after the
  // signed fields from outside them if any (two Standard Webhooks messages with the same bytes
  // are two callbacks). A JSON object's text ends where it closes, so the prefix is unambiguous.
  const fields = signed === undefined || Object.keys(signed).length === 0 ? undefined : JSON.stringify(signed);
  let content: Uint8Array = fields === undefined ? body : prefixed(utf8(fields), body);
  const text = source.provider.signedContent === undefined ? undefined : fromUtf8(body);
  try {
    const covered = text === undefined ? undefined : source.provider.signedContent?.(text, source.options, signed);
    if (covered !== undefined) content = utf8(covered);
  } catch (err) {
    // An adapter bug: the bytes stay the identity (nothing verified is lost); the line names it.
    adapterError(source, "signedContent", err);
  }
  return `raw:${toHex(await digest("SHA-256", content as Uint8Array<ArrayBuffer>))}`;
}

/** An account's ledger. Account keys never reach the internal objects (src/object-names.ts). */
export function ledgerFor(env: Env, source: string, account: string): DurableObjectStub<AccountLedger> {
  return accountLedger(env, source, account);
}

/** The account name under which a source's quarantined callbacks are kept. */
export const QUARANTINE_ACCOUNT = "~quarantine";

/**
 * Claims a normalized event, whose id (`eventId`) the caller has computed, in its account's
 * ledger. Throws when storage is unavailable.
 */
export async function storeEvent(
  env: Env,
  source: SourceConfig,
  id: string,
  normalized: Normalized,
  text: string,
  receivedAt: number,
  replay?: Replay,
  headers?: Record<string, string>,
): Promise<{ id: string; claim: ClaimResult }> {
  const claim = await ledgerFor(env, source.name, normalized.accountKey).accept({
    id,
    source: source.name,
    account: normalized.accountKey,
    idempotencyKey: normalized.idempotencyKey,
    legacyId: await legacyEventId(source.name, normalized.idempotencyKey),
    type: normalized.event.type,
    body: eventBody(source, id, normalized, receivedAt, text),
    receivedAt,
    ...(replay !== undefined && { replay }),
    ...(headers !== undefined && { headers }),
  });
  return { id, claim };
}

type Verified = {
  readonly replay?: Replay | undefined;
  readonly signed?: SignedFields | undefined;
  readonly headers?: Record<string, string>;
};

/**
 * Stores a verified but unreadable callback whole in the source's quarantine ledger: its bytes
 * and the signed fields the verifier read outside them, which re-processing needs to rebuild
 * the event a fresh delivery would make (src/admin.ts).
 */
async function storeQuarantined(env: Env, source: SourceConfig, body: Uint8Array, reason: string, receivedAt: number, verified: Verified) {
  const { replay, signed, headers } = verified;
  const key = await quarantineKey(source, body, signed);
  const id = await eventId(source.name, QUARANTINE_ACCOUNT, key);
  const claim = await internalLedger(env, source.name, QUARANTINE_ACCOUNT).quarantine({
    id,
    source: source.name,
    account: QUARANTINE_ACCOUNT,
    idempotencyKey: key,
    reason,
    raw: body,
    receivedAt,
    ...(replay !== undefined && { replay }),
    ...(signed !== undefined && { signed }),
    ...(headers !== undefined && { headers }),
  });
  return { id, claim };
}

/** Counts the billable operations of one claim: a Durable Object request and its SQLite rows. */
function countClaim(source: string, claim: ClaimResult): void {
  count(source, "do_requests");
  count(source, "sql_rows_read", claim.usage?.sql_rows_read ?? 0);
  count(source, "sql_rows_written", claim.usage?.sql_rows_written ?? 0);
}

export async function handleWebhook(
  request: Request,
  env: Env,
  ctx: ExecutionContext,
  config: GatewayConfig,
  source: SourceConfig,
): Promise<Response> {
  const now = Date.now();
  /** Counts the outcome and logs its line (`extra` null: counted, no line: src/log-throttle.ts). */
  const done = (outcome: Counter, response: Response, extra: LogFields | null = {}) => {
    count(source.name, outcome);
    const flush = flushIfDue(env, Date.now(), config.statsFlushMs);
    if (flush !== undefined) ctx.waitUntil(flush);
    if (extra === null) return response;
    log("ingress", {
      // A quarantined callback was verified but not delivered: someone should look at it.
      level: outcome === "quarantined" ? "warn" : "info",
      source: source.name,
      provider: source.provider.name,
      outcome,
      status: response.status,
      ms: Date.now() - now,
      ...extra,
    });
    return response;
  };
  /** A 4xx answer to a request that did not verify: noted for operators (src/rejections.ts), never its body. */
  const refused = (cause: RejectionCause, response: Response, bytesRead?: number) => {
    recordRejection(env, ctx, config.statsFlushMs, rejectionOf(request, source.name, response.status, cause, now, bytesRead));
    return response;
  };

  if (source.ipAllowList !== undefined && !ipAllowed(source.ipAllowList, request.headers.get("cf-connecting-ip"))) {
    return done("forbidden", refused("ip_not_allowed", reply.forbidden()), throttled(source.name, "forbidden", now, {}));
  }

  const body = await readBodyCapped(request, config.maxBodyBytes);
  if (body === "too_large") return done("too_large", refused("too_large", reply.tooLarge()), throttled(source.name, "too_large", now, {}));

  const inbound: SignedRequest = { body, headers: request.headers, method: request.method, url: request.url, now };
  const verified = await source.provider.verify(inbound, source);
  if (!verified.ok) {
    // A source whose configuration cannot verify anything is a fault for a person (error),
    // named in the line, every time. A forged or stale request is an expected outcome (info)
    // whose volume an attacker picks: one line per source and reason per 10 s, with a count.
    const response = refused(verified.reason, reply.unauthorized(), body.byteLength);
    if ("config" in verified) return done("rejected", response, { reason: verified.reason, level: "error", error: verified.config });
    return done("rejected", response, throttled(source.name, verified.reason, now, { reason: verified.reason }));
  }

  // Signed values from outside the body (Standard Webhooks' webhook-id) reach the adapter here.
  const parsed = parseVerified(source, body, verified.signed);
  // The allow-listed request headers (./request-headers.ts), kept with the event for operators.
  const headers = keptHeaders(request.headers);
  let stored: { id: string; claim: ClaimResult };
  try {
    if (parsed.kind === "quarantine") {
      stored = await storeQuarantined(env, source, body, parsed.reason, now, { ...verified, ...(headers && { headers }) });
      countClaim(source.name, stored.claim);
      if (stored.claim.replayed)
        return done("replayed", refused("replayed", reply.unauthorized(), body.byteLength), { eventId: stored.id });
      // Operators hear of it (docs/ops-events.md); a provider's retry of it is the same event.
      ctx.waitUntil(opsEvent(env, quarantined({ source: source.name, eventId: stored.id, reason: parsed.reason, receivedAt: now })));
      return done("quarantined", reply.ack(source.provider.ack), {
        eventId: stored.id,
        reason: parsed.reason,
        duplicate: stored.claim.duplicate,
      });
    }
    const id = await eventId(source.name, parsed.normalized.accountKey, parsed.normalized.idempotencyKey);
    // A signed nonce must reach the Durable Object to be checked, so such requests skip the
    // caches: this isolate's memory, then KV while the source is being retried (src/isolate-cache.ts).
    if (verified.replay === undefined) {
      const cache = await knownStored(env.SEEN, source.name, id, now, config.edgeCacheTtlSeconds * 1000, () =>
        count(source.name, "kv_reads"),
      );
      if (cache !== undefined) return done("duplicate", reply.ack(source.provider.ack), { eventId: id, cache });
    }
    stored = await storeEvent(env, source, id, parsed.normalized, parsed.text, now, verified.replay, headers);
    countClaim(source.name, stored.claim);
    // The Durable Object has it durably (stored now or before): a retry here needs neither KV nor the DO.
    if (verified.replay === undefined && !stored.claim.replayed) rememberHere(id, now, config.edgeCacheTtlSeconds * 1000);
  } catch (err) {
    // The Durable Object could not confirm the write: nothing is acked, the provider retries.
    // Its `overloaded` / `retryable` flags pick the Retry-After and the log level.
    const failure = storageFailure(err);
    return done("storage_error", reply.unavailable(failure.retryAfterSeconds), { level: failure.level, ...failure.fields });
  }
  const { id, claim } = stored;
  if (claim.replayed) return done("replayed", refused("replayed", reply.unauthorized(), body.byteLength), { eventId: id });
  // The edge cache learns an event when a provider first retries it: most events are never
  // retried, so writing every accepted one (KV writes cost 10× reads) would mostly be waste.
  if (claim.duplicate && verified.replay === undefined) {
    noteRetry(source.name, now);
    count(source.name, "kv_writes");
    ctx.waitUntil(rememberAtEdge(env.SEEN, id, config.edgeCacheTtlSeconds));
  }
  return done(claim.duplicate ? "duplicate" : "accepted", reply.ack(source.provider.ack), { eventId: id });
}
