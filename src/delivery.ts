/**
 * Outbound delivery to the origin: Standard Webhooks signing (https://www.standardwebhooks.com),
 * one attempt with a timeout, classification of the outcome, and the retry schedule.
 * Pure functions plus one `fetch`; the ledger decides what to do with the outcome.
 */
import { signatureHeader } from "./verify/standard-webhooks";

export type AttemptOutcome =
  | { kind: "delivered"; status: number }
  /** Worth trying again: 5xx, 408, 429, timeouts, network errors. */
  | { kind: "retry"; status?: number; error: string; retryAfterMs?: number }
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

/** Reads `Retry-After` (delta seconds or an HTTP date) as milliseconds from `now`. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Retry schedule: 30 s doubling per attempt, capped at 8 h, each delay jittered to 80–120 %
 * so a recovering origin is not hit by every account at once. The 16th attempt comes about 48.5 h
 * after the first (before jitter);
 * after that the event is dead-lettered. `random` is in [0, 1).
 * Returns undefined when no attempt is left.
 */
export const RETRY = { baseMs: 30_000, capMs: 8 * 60 * 60 * 1000, maxAttempts: 16, jitter: 0.2 } as const;

export function retryDelayMs(attemptsMade: number, random: number): number | undefined {
  if (attemptsMade >= RETRY.maxAttempts) return undefined;
  const exponential = Math.min(RETRY.capMs, RETRY.baseMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(exponential * (1 - RETRY.jitter + 2 * RETRY.jitter * random));
}

export interface OutboundEvent {
  readonly id: string;
  readonly body: string;
}

/** Sends one attempt. Never throws: network errors and timeouts are outcomes. */
export async function deliverOnce(
  url: string,
  secrets: readonly Uint8Array<ArrayBuffer>[],
  event: OutboundEvent,
  now: number,
  timeoutMs: number,
): Promise<AttemptOutcome> {
  const timestamp = Math.floor(now / 1000);
  try {
    const response = await fetch(url, {
      method: "POST",
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
      headers: {
        "content-type": "application/cloudevents+json; charset=utf-8",
        "webhook-id": event.id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": await signatureHeader(secrets, event.id, timestamp, event.body),
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
