/**
 * Retention: what a ledger keeps, and for how long (docs/configuration.md "Key retention").
 * Delivered events' bodies are dropped after RETENTION_DELIVERED_SECONDS and their rows (the
 * idempotency keys) after RETENTION_KEYS_SECONDS; expired nonces go too. Dead letters and
 * quarantined events stay until an operator acts. The newest row is never deleted, so `seq`
 * (SQLite's max + 1) never goes back.
 *
 * The work is O(1) per event, whatever the account holds (docs/architecture.md "Retention"):
 * bodies and keys are each read from a cursor (`bodies_after`, `keys_after`: ./cursors.ts) in
 * `seq` order, which is arrival order, until the first row not yet expired, in batches of at
 * most PRUNE_BATCH rows; dead letters and quarantined rows are stepped over (an operator's
 * action on one moves the cursor back to it). The ledger prunes at most once per PRUNE_EVERY_MS
 * (sooner only while a full batch says more has expired). A row received a few ms before an
 * earlier `seq` (two isolates' clocks) waits for that one: kept a little longer, never pruned
 * early.
 */
import type { GatewayConfig } from "../config";
import type { Cursors } from "./cursors";
import type { LedgerStorage } from "./storage";

/** At most this many rows per step and per run. */
export const PRUNE_BATCH = 500;
/** A prune runs at most this often per object (the ledger tracks it in memory). */
export const PRUNE_EVERY_MS = 3_600_000;
/** When a step filled its batch: the next run comes this soon, not an hour later. */
export const PRUNE_AGAIN_MS = 1_000;

interface Row {
  seq: number;
  state: string;
  received_at: number;
  delivered_at: number | null;
}

/** Prunes what has expired (bounded); returns when the next prune is due, if anything is left to prune. */
export function prune(storage: LedgerStorage, cursors: Cursors, config: GatewayConfig, now: number): number | undefined {
  const bodyCutoff = now - config.retentionDeliveredSeconds * 1000;
  const keyCutoff = now - config.retentionKeysSeconds * 1000;
  let full = pruneBodies(storage, cursors, bodyCutoff);
  full = pruneKeys(storage, cursors, keyCutoff, bodyCutoff) || full;
  const nonces = storage.rows(
    "DELETE FROM nonces WHERE nonce IN (SELECT nonce FROM nonces WHERE expires_at < ? ORDER BY expires_at LIMIT ?) RETURNING nonce",
    now,
    PRUNE_BATCH,
  );
  full ||= nonces.length === PRUNE_BATCH;
  if (full) return now + PRUNE_AGAIN_MS;
  const next = earliestExpiry(storage, cursors, config);
  return next === undefined ? undefined : Math.max(next, now + PRUNE_EVERY_MS);
}

/** Rows after a cursor, in order, while `expired` holds: only those are read. */
function expiredAfter(storage: LedgerStorage, after: number, expired: (row: Row) => boolean): Row[] {
  return storage.rowsWhile<Row & Record<string, SqlStorageValue>>(
    expired,
    PRUNE_BATCH,
    "SELECT seq, state, received_at, delivered_at FROM events WHERE seq > ? ORDER BY seq",
    after,
  );
}

/** Drops delivered bodies whose retention has passed; returns whether the batch was full. */
function pruneBodies(storage: LedgerStorage, cursors: Cursors, cutoff: number): boolean {
  const after = cursors.get("bodies_after");
  // Stops at a pending row or one delivered too recently: its body is still kept, and so are later ones.
  const rows = expiredAfter(
    storage,
    after,
    (r) => r.received_at < cutoff && r.state !== "pending" && !(r.state === "delivered" && (r.delivered_at ?? 0) >= cutoff),
  );
  const last = rows.at(-1)?.seq;
  if (last === undefined) return false;
  storage.run("UPDATE events SET body = NULL WHERE seq > ? AND seq <= ? AND state = 'delivered' AND body IS NOT NULL", after, last);
  cursors.set("bodies_after", last);
  return rows.length === PRUNE_BATCH;
}

/** Deletes expired delivered and re-processed rows (and their attempts); returns whether the batch was full. */
function pruneKeys(storage: LedgerStorage, cursors: Cursors, cutoff: number, bodyCutoff: number): boolean {
  const after = cursors.get("keys_after");
  const newest = storage.rows<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM events")[0]?.seq ?? 0;
  const rows = expiredAfter(
    storage,
    after,
    (r) =>
      r.seq < newest &&
      r.received_at < cutoff &&
      r.state !== "pending" &&
      !(r.state === "delivered" && (r.delivered_at ?? 0) >= bodyCutoff),
  );
  const last = rows.at(-1)?.seq;
  if (last === undefined) return false;
  const gone = "seq > ?1 AND seq <= ?2 AND state IN ('delivered', 'reprocessed')";
  storage.run(`DELETE FROM attempts WHERE event_seq IN (SELECT seq FROM events WHERE ${gone})`, after, last);
  storage.run(`DELETE FROM events WHERE ${gone}`, after, last);
  cursors.set("keys_after", last);
  return rows.length === PRUNE_BATCH;
}

/**
 * About when something retained next expires: the first row after each cursor (its receipt is
 * the earliest its body or key can expire) and the earliest nonce. One row read per probe.
 */
function earliestExpiry(storage: LedgerStorage, cursors: Cursors, config: GatewayConfig): number | undefined {
  const times: number[] = [];
  const first = (after: number, below = "") =>
    storage.rows<{ at: number }>(`SELECT received_at AS at FROM events WHERE seq > ? ${below} ORDER BY seq LIMIT 1`, after)[0]?.at;
  const body = first(cursors.get("bodies_after"));
  if (body !== undefined) times.push(body + config.retentionDeliveredSeconds * 1000);
  // The newest row keeps its key (its number is the account's last), so it is never waited for.
  const key = first(cursors.get("keys_after"), "AND seq < (SELECT MAX(seq) FROM events)");
  if (key !== undefined) times.push(key + config.retentionKeysSeconds * 1000);
  const nonce = storage.rows<{ at: number }>("SELECT expires_at AS at FROM nonces ORDER BY expires_at LIMIT 1")[0];
  if (nonce !== undefined) times.push(nonce.at);
  return times.length === 0 ? undefined : Math.min(...times);
}
