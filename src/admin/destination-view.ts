/**
 * A destination as operators see it (GET /admin/destinations): its configuration and its
 * object's `status()`, times as RFC 3339. The origin URL is shown as origin and path only: its
 * user information and query can hold credentials (`https://user:key@host/hook?token=…`), and
 * the admin API never answers a secret. Error texts are scrubbed of the same parts, in case a
 * runtime's message quoted the URL.
 */
import type { DestinationStatus } from "../destination/contract";
import type { DestinationConfig } from "../destinations";
import { isoOrNull, isoTime } from "../time";

/** `https://user:pw@host:8443/hook?token=x#f` → `https://host:8443/hook`; an unreadable URL shows nothing of itself. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    // The configuration validates every origin URL, so this is not expected; saying so beats echoing it.
    return "(unreadable URL)";
  }
}

/** `text` with the URL, its user information and its query replaced by their redacted forms. */
export function scrubbed(text: string, url: string): string {
  let out = text.split(url).join(redactedUrl(url));
  try {
    const parsed = new URL(url);
    const userinfo =
      parsed.username === "" && parsed.password === "" ? "" : `${parsed.username}${parsed.password === "" ? "" : `:${parsed.password}`}@`;
    if (userinfo !== "") out = out.split(userinfo).join("");
    if (parsed.search.length > 1) out = out.split(parsed.search).join("");
  } catch {
    // redactedUrl already replaced the whole (unreadable) URL; there are no parts to look for.
  }
  return out;
}

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
