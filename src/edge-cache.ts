/**
 * Workers KV as an edge cache of recently accepted event ids. A hit means the account's Durable
 * Object already stored that event, so a provider retry is acked at the edge without a DO round
 * trip. KV is eventually consistent (a write may take ~60 s to show in other locations), so a
 * miss proves nothing: the Durable Object stays the authority. A key is written when the Durable
 * Object reports a duplicate, i.e. when a provider first retries an event that is already stored:
 * retries are rare, KV writes cost 10x reads, and writing every accepted event would double the
 * cost per event for keys that are mostly never read. Never written for rejected requests.
 * Trade-offs: docs/architecture.md "Edge cache".
 */

import { log } from "./log";

const PREFIX = "seen:v1:";

/** KV failing is degraded service, never a failed request: logged, then treated as a miss. */
function kvFailed(operation: "get" | "put", err: unknown): void {
  log("edge_cache", {
    level: "warn",
    operation,
    error: err instanceof Error ? err.name : "Error",
    message: err instanceof Error ? err.message.slice(0, 300) : String(err).slice(0, 300),
  });
}

/** True if this event id is known to be stored. A KV failure counts as a miss. */
export async function seenAtEdge(kv: KVNamespace, eventId: string): Promise<boolean> {
  try {
    return (await kv.get(PREFIX + eventId)) !== null;
  } catch (err) {
    // The Durable Object still dedupes: a miss costs one round trip, never a duplicate event.
    kvFailed("get", err);
    return false;
  }
}

/** Records a stored event id for `ttlSeconds`. Best effort: the DO already has the truth. */
export async function rememberAtEdge(kv: KVNamespace, eventId: string, ttlSeconds: number): Promise<void> {
  try {
    await kv.put(PREFIX + eventId, "1", { expirationTtl: ttlSeconds });
  } catch (err) {
    // A failed cache write only costs a DO round trip on the next retry (KV also refuses more
    // than one write per second to a key).
    kvFailed("put", err);
  }
}
