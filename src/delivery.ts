/**
 * Outbound delivery to the origin: Standard Webhooks signing (https://www.standardwebhooks.com),
 * one attempt with a timeout, classification of the outcome, and the retry schedule.
 * Pure functions plus one `fetch`; the ledger decides what to do with the outcome.
 */
import type { OriginTarget } from "./destinations";
import { signatureHeader } from "./verify/standard-webhooks";

export type AttemptOutcome =
  | { kind: "delivered"; status: number }
  /**
   * Worth trying again: 5xx, 408, 429, timeouts, network errors. `unsent`: nothing reached the
   * origin (the event could not be signed), so the destination's breaker does not count it.
   */
  | { kind: "retry"; status?: number; error: string; retryAfterMs?: number; unsent?: true }
  /** The origin refused the event for good (410 and other 4xx): dead letter at once. */
  | { kind: "rejected"; status: number; error: string };

/** Classifies an origin's HTTP status. */
export function classifyStatus(status: number): AttemptOutcome["kind"] {
  if (status >= 200 && status < 300) return "delivered";
  if (status === 408 || status === 429 || status >= 500) return "retry";
  if (status >= 400) return "rejected";
  // 1xx/3xx: redirects are not followed (a signed event must not wander); treat as transient.
  return "retry";
}

/**
 * Reads `Retry-After` (delta seconds or an HTTP date) as milliseconds from `now`. A past date
 * reads as 0; a value that is neither (a negative number, text) is ignored. The ledger never
 * waits less than `RETRY.minDelayMs`, whatever this returns.
 */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP date names a weekday or month; a bare number such as "-5" is not one, even
  // though Date.parse would read it as a year.
  if (!/[a-z]/i.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Retry schedule: 30 s doubling per attempt, capped at 8 h, each delay jittered to 80–120 %
 * so a recovering origin is not hit by every account at once. Nominally the 16th attempt comes
 * about 48.5 h after the first. An event is dead-lettered after a failed attempt only when
 * both at least 16 attempts were made and two days (`windowMs`) have passed since its first
 * failed attempt, so short `Retry-After` answers can make attempts come sooner but can never
 * use the schedule up early; the attempt that can dead-letter an event is pulled in to the
 * window's end. Each wait is at least `minDelayMs`, and at most `perMinute` attempts of one
 * event fall in any minute. Attempts and time of a held event do not count (origin protection:
 * src/ledger/attempt-budget.ts): `attemptsMade` counts only attempts that were not a breaker's
 * probe, and the window ends `heldMs` later.
 */
export const RETRY = {
  baseMs: 30_000,
  capMs: 8 * 60 * 60 * 1000,
  maxAttempts: 16,
  jitter: 0.2,
  minDelayMs: 1000,
  windowMs: 48 * 60 * 60 * 1000,
  perMinute: 5,
} as const;

/** The schedule's delay after `attemptsMade` failed attempts (8 h, jittered, past the 16th). `random` is in [0, 1). */
export function retryDelayMs(attemptsMade: number, random: number): number {
  const exponential = Math.min(RETRY.capMs, RETRY.baseMs * 2 ** Math.min(30, Math.max(0, attemptsMade - 1)));
  return Math.round(exponential * (1 - RETRY.jitter + 2 * RETRY.jitter * random));
}

export interface FailedAttempt {
  /** Attempts made so far, the failed one included. */
  readonly attemptsMade: number;
  readonly now: number;
  /** When this event's first failed attempt was made (`now` if this is it). */
  readonly firstFailedAt: number;
  /**
   * How long the event was held since then (an open breaker or a pause: src/ledger/hold.ts): the
   * two-day window does not run while it is held, so it ends this much later.
   */
  readonly heldMs?: number;
  /**
   * When attempt number `attemptsMade + 1 - RETRY.perMinute` was made, if there was one: the
   * next attempt may not start before a minute after it.
   */
  readonly rateAnchorAt?: number;
  /** The origin's `Retry-After`, in ms from `now`. */
  readonly retryAfterMs?: number;
  /** In [0, 1): the jitter. */
  readonly random: number;
}

/** When to try a failed event again (Unix ms), or undefined to dead-letter it. */
export function nextAttemptAt(failed: FailedAttempt): number | undefined {
  const { attemptsMade, now } = failed;
  const windowEnd = failed.firstFailedAt + RETRY.windowMs + (failed.heldMs ?? 0);
  if (attemptsMade >= RETRY.maxAttempts && now >= windowEnd) return undefined;
  let delay =
    failed.retryAfterMs === undefined
      ? retryDelayMs(attemptsMade, failed.random)
      : Math.min(RETRY.capMs, Math.max(RETRY.minDelayMs, failed.retryAfterMs));
  // From the 15th failure on, the next attempt may be the last one: it comes no later than
  // the window's end, so an event fails for two days, not more, before it is dead-lettered.
  if (attemptsMade >= RETRY.maxAttempts - 1 && now < windowEnd) delay = Math.min(delay, Math.max(RETRY.minDelayMs, windowEnd - now));
  const at = now + delay;
  return failed.rateAnchorAt === undefined ? at : Math.max(at, failed.rateAnchorAt + 60_000);
}

/**
 * The CloudEvents `sequence` extension attribute: the event's position in its account's outbox
 * (`seq`), zero-padded to 19 digits (every SQLite integer fits) so it orders lexicographically.
 */
export function formatSequence(seq: number): string {
  return String(seq).padStart(19, "0");
}

const ENVELOPE_START = '{"specversion":"1.0",';

/**
 * The body as sent: the stored CloudEvent with its `sequence` attribute added (the number is
 * known only once the claim has stored the row). Deterministic, so every attempt sends the
 * same bytes. Stored bodies never carry `sequence` themselves.
 */
export function withSequence(body: string, seq: number): string {
  const at = body.startsWith(ENVELOPE_START) ? ENVELOPE_START.length : 1;
  const member = `"sequence":"${formatSequence(seq)}"${body[at] === "}" ? "" : ","}`;
  return body.slice(0, at) + member + body.slice(at);
}

export interface OutboundEvent {
  readonly id: string;
  readonly body: string;
}

/** Sends one attempt. Never throws: network errors and timeouts are outcomes. */
export async function deliverOnce(target: OriginTarget, event: OutboundEvent, now: number, timeoutMs: number): Promise<AttemptOutcome> {
  const timestamp = Math.floor(now / 1000);
  let signature: string;
  try {
    signature = await signatureHeader(target.signing, event.id, timestamp, event.body);
  } catch (err) {
    // Only a 64-byte `whsk_` key whose halves do not match gets here (src/verify/ed25519.ts): a
    // configuration fault, logged by the caller with the event. Nothing is sent unsigned; the
    // event waits for a fixed key. The message names no key material.
    return { kind: "retry", error: `signing failed: ${err instanceof Error ? err.message : String(err)}`, unsent: true };
  }
  try {
    // The destination's mTLS certificate binding presents the client certificate; else the global fetch.
    const send = target.fetcher ?? globalThis;
    const response = await send.fetch(target.url, {
      method: "POST",
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
      headers: {
        "content-type": "application/cloudevents+json; charset=utf-8",
        "webhook-id": event.id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": signature,
        "user-agent": "webhook-gateway",
      },
      body: event.body,
    });
    // The body is not needed; cancelling it frees the connection.
    await response.body?.cancel();
    const kind = classifyStatus(response.status);
    if (kind === "delivered") return { kind, status: response.status };
    const error = `HTTP ${response.status}`;
    if (kind === "rejected") return { kind, status: response.status, error };
    const after = retryAfterMs(response.headers.get("retry-after"), now);
    return { kind, status: response.status, error, ...(after !== undefined && { retryAfterMs: after }) };
  } catch (err) {
    const name = err instanceof Error ? err.name : "Error";
    return { kind: "retry", error: name === "TimeoutError" ? `timeout after ${timeoutMs} ms` : `network error: ${name}` };
  }
}
