/**
 * The dedupe lookups in front of the account's Durable Object (the authority), cheapest first:
 *
 * 1. **This isolate's memory** (`seenHere`): ids the Durable Object confirmed stored (it answered
 *    "stored" or "duplicate") while this isolate ran. Free, exact for what it holds, bounded.
 * 2. **Workers KV** (src/edge-cache.ts), read only while the source is being retried
 *    (`kvWorthReading`). A KV read costs $0.50 per million, more than the Durable Object request
 *    it can save ($0.15 per million), so reading it for every new event (most are never retried)
 *    cost every event $0.50 per million and a round trip for nothing. It earns its place in a
 *    retry storm, where it answers retries at the edge and keeps them off the account's object.
 *
 * Invariant (test/isolate-cache.test.ts, property): `seenHere(id)` is true only for an id passed
 * to `rememberHere` (which the caller does only once the Durable Object has the event durably),
 * so a cache hit never acks an event that is not stored. A miss proves nothing: the Durable
 * Object decides. Trade-offs and numbers: docs/architecture.md "Edge cache".
 */

import { seenAtEdge } from "./edge-cache";

/** Ids kept per isolate: about 60 bytes each with the map's overhead, so under 1 MB. */
export const ISOLATE_CACHE_IDS = 10_000;

/** How long one duplicate makes KV worth reading for its source, in this isolate. */
export const RETRY_WINDOW_MS = 60_000;

/** id → expiry (Unix ms). A Map iterates in insertion order, so the first key is the oldest. */
const seen = new Map<string, number>();
/** source → until when (Unix ms) its retries make a KV read worth its price. */
const retried = new Map<string, number>();

/** Whether this isolate knows the event is stored (and the knowledge is younger than its TTL). */
export function seenHere(id: string, now: number): boolean {
  const expires = seen.get(id);
  if (expires === undefined) return false;
  if (expires > now) return true;
  seen.delete(id);
  return false;
}

/** Records that the Durable Object holds `id`; call only after it said so. */
export function rememberHere(id: string, now: number, ttlMs: number): void {
  seen.delete(id); // re-inserted at the end: the most recently confirmed ids are kept longest
  seen.set(id, now + ttlMs);
  while (seen.size > ISOLATE_CACHE_IDS) {
    const oldest = seen.keys().next().value;
    if (oldest === undefined) break;
    seen.delete(oldest);
  }
}

/** Notes that a source's provider is retrying (a duplicate reached this isolate). */
export function noteRetry(source: string, now: number): void {
  retried.set(source, now + RETRY_WINDOW_MS);
}

/** Whether a KV read is worth its price for this source now: it was retried here in the last minute. */
export function kvWorthReading(source: string, now: number): boolean {
  return (retried.get(source) ?? 0) > now;
}

/**
 * Which cache knows `id` is stored: "isolate", "kv", or undefined (the ledger decides). Reads KV
 * only while the source is being retried (`onKvRead` counts each read); a hit in either notes a
 * retry, and a KV hit is remembered here.
 */
export async function knownStored(
  kv: KVNamespace,
  source: string,
  id: string,
  now: number,
  ttlMs: number,
  onKvRead: () => void,
): Promise<"isolate" | "kv" | undefined> {
  if (seenHere(id, now)) {
    noteRetry(source, now);
    return "isolate";
  }
  if (!kvWorthReading(source, now)) return undefined;
  onKvRead();
  if (!(await seenAtEdge(kv, id))) return undefined;
  rememberHere(id, now, ttlMs);
  return "kv";
}

/** Empties this isolate's memory (tests, which share one isolate, reach the KV path with it). */
export function forgetIsolateCache(): void {
  seen.clear();
  retried.clear();
}

/** How many ids this isolate holds (tests). */
export function isolateCacheSize(): number {
  return seen.size;
}
