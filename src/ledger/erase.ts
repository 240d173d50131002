/**
 * An operator's erasure of an event's payload (personal data), keeping its identity
 * (docs/operations.md "Erase an event's payload"). What goes: the CloudEvent body and the
 * request headers kept with it, for a quarantined callback the raw bytes and the signed fields
 * kept with them, and the idempotency key's text: some providers' keys are payload (a Coins
 * status update's key is its whole `data`), so it is replaced by `sha256:<hex of the key>`.
 * Nothing reads the stored key back for dedupe: a duplicate is found by the event id, derived
 * from the key at ingress (src/ingress.ts eventId, legacyEventId); replay and re-processing read
 * the body and the raw bytes. What stays: the key row (id, seq, hashed idempotency key, state,
 * times, attempts), so a provider's retry of the same callback is still a duplicate and is never
 * delivered again, and the history of attempts.
 * When and by whom is recorded in the row's `reason` ("erased at <RFC 3339> by <actor>"): the
 * schema has no column of its own for it, and every delivery error is kept in `attempts`.
 *
 * A pending event is not erasable: its body is what the outbox is about to send. A row in a
 * time partition moves to `events` first (./partitions.ts invariant 3: a partition row is
 * pending or delivered with its body), and its body row is deleted with the move. Without a
 * body, redeliver answers `not_redeliverable` and replay passes it over (./requeue.ts).
 */
import { digest, toHex, utf8 } from "../verify/crypto";
import type { Cursors } from "./cursors";
import type { Partitions } from "./partitions";
import type { LedgerStorage } from "./storage";

export type EraseResult = { erasedAt: number } | "not_found" | "not_erasable";

const ERASED = /^erased at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) by /;

/** The `reason` an erasure records. */
export function erasedReason(at: number, by: string): string {
  return `erased at ${new Date(at).toISOString()} by ${by}`;
}

/** When a row's payload was erased (Unix ms), read from its `reason`; undefined if it was not. */
export function erasedAt(reason: string | null): number | undefined {
  const match = reason === null ? null : ERASED.exec(reason);
  return match === null ? undefined : Date.parse(match[1] ?? "");
}

/** The same as the event detail shows it: RFC 3339, or null. */
export function erasedAtText(reason: string | null): string | null {
  const at = erasedAt(reason);
  return at === undefined ? null : new Date(at).toISOString();
}

/** What an erasure writes in place of an idempotency key (the header above). */
export async function hashedKey(key: string): Promise<string> {
  return `sha256:${toHex(await digest("SHA-256", utf8(key)))}`;
}

/**
 * The stored idempotency key of `id` (in `events` or its time partition), read before the
 * erasure so its digest can be computed (WebCrypto is asynchronous; the erasure is one
 * synchronous block).
 */
export function storedKey(storage: LedgerStorage, partitions: Partitions, id: string): string | undefined {
  const table = storage.rows("SELECT 1 FROM events WHERE id = ?", id).length > 0 ? "events" : partitions.locate(id)?.name;
  if (table === undefined) return undefined;
  return storage.rows<{ idempotency_key: string }>(`SELECT idempotency_key FROM ${table} WHERE id = ?`, id)[0]?.idempotency_key;
}

/** The key as stored (`from`) and what replaces it (`to`): replaced only if it is still `from`. */
export interface KeyDigest {
  from: string;
  to: string;
}

/** The stored key of `id` and its digest, computed before the erasure's synchronous block; undefined for an unknown id. */
export async function keyDigestOf(storage: LedgerStorage, partitions: Partitions, id: string): Promise<KeyDigest | undefined> {
  const key = storedKey(storage, partitions, id);
  return key === undefined ? undefined : { from: key, to: await hashedKey(key) };
}

interface Row {
  seq: number;
  state: string;
  reason: string | null;
  body: string | null;
  raw: ArrayBuffer | null;
}

/**
 * Erases the payload of event (or quarantined callback) `id`, by `by` at `now`. Erasing an
 * erased row changes nothing and answers the first erasure's time. The row is marked for the
 * operators' index to be written again (`indexed = 0`: its reason changed, ./index-feed.ts), and
 * retention looks at it again.
 */
export function eraseEvent(
  storage: LedgerStorage,
  partitions: Partitions,
  cursors: Cursors,
  id: string,
  by: string,
  now: number,
  key: KeyDigest | undefined,
): EraseResult {
  const read = () =>
    storage.rows<Row & Record<string, SqlStorageValue>>("SELECT seq, state, reason, body, raw FROM events WHERE id = ?", id)[0];
  const row = read();
  if (row === undefined) {
    const keys = partitions.locate(id);
    if (keys === undefined) return "not_found";
    const state = storage.rows<{ state: string }>(`SELECT state FROM ${keys.name} WHERE id = ?`, id)[0]?.state;
    if (state === "pending") return "not_erasable";
    return storage.atomically(() => {
      partitions.moveToEvents(keys, id, { state: "delivered", requeued: 0, nextAttemptAt: null });
      return erase(storage, cursors, read()!, by, now, key);
    });
  }
  if (row.state === "pending") return "not_erasable";
  const already = erasedAt(row.reason);
  if (already !== undefined && row.body === null && row.raw === null) return { erasedAt: already };
  return erase(storage, cursors, row, by, now, key);
}

function erase(storage: LedgerStorage, cursors: Cursors, row: Row, by: string, now: number, key: KeyDigest | undefined): EraseResult {
  // The key is replaced only if it is still the one digested: a concurrent erasure (the digest is
  // awaited outside this block) never digests a digest.
  storage.run(
    `UPDATE events SET body = NULL, headers = NULL, raw = NULL, signed = NULL, reason = ?2, indexed = 0,
       idempotency_key = CASE WHEN idempotency_key = ?3 THEN ?4 ELSE idempotency_key END
     WHERE seq = ?1`,
    row.seq,
    erasedReason(now, by),
    key?.from ?? null,
    key?.to ?? null,
  );
  cursors.revisit(row.seq);
  return { erasedAt: now };
}
