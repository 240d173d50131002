/**
 * A destination as operators see it (GET /admin/destinations): its configuration and its
 * object's `status()`, times as RFC 3339. The origin URL is shown as origin and path only: its
 * user information and query can hold credentials (`https://user:key@host/hook?token=…`), and
 * the admin API never answers a secret (src/redact-url.ts). Error texts are scrubbed of the same
 * parts, in case a runtime's message quoted the URL.
 */
import type { DestinationStatus } from "../destination/contract";
import type { DestinationConfig } from "../destinations";
import { redactedUrl, scrubbed } from "../redact-url";
import { isoOrNull, isoTime } from "../time";

const scrubOrNull = (text: string | null, url: string) => (text === null ? null : scrubbed(text, url));

/** The list's entry: configuration and status, without the history. */
export function presentDestination(destination: DestinationConfig, status: DestinationStatus, windowSeconds: number) {
  const { url } = destination;
  return {
    // The configuration names the object; the id in its status is the object's own view of it.
    id: destination.id,
    url: redactedUrl(url),
    sources: [...destination.sources],
    state: status.state,
    windowSeconds,
    attempts: status.attempts,
    failures: status.failures,
    consecutiveFailures: status.consecutiveFailures,
    openedAt: isoOrNull(status.openedAt),
    nextProbeAt: isoOrNull(status.nextProbeAt),
    probeIntervalMs: status.probeIntervalMs,
    lastError: scrubOrNull(status.lastError, url),
    lastStatus: status.lastStatus,
    waiting: status.waiting,
    pausedSources: status.pausedSources.map((p) => ({ source: p.source, at: isoTime(p.at), by: p.by })),
    ratePerSecond: status.ratePerSecond,
    maxPerSecond: status.maxPerSecond,
  };
}

/** One destination's detail: the entry and its breaker's history, newest first. */
export function presentDestinationDetail(destination: DestinationConfig, status: DestinationStatus, windowSeconds: number) {
  return {
    ...presentDestination(destination, status, windowSeconds),
    history: status.history.map((t) => ({ at: isoTime(t.at), from: t.from, to: t.to, reason: scrubbed(t.reason, destination.url) })),
  };
}
