/**
 * The quarantine role (`{source}/~quarantine`): verified callbacks the adapters could not read,
 * kept whole (the bytes, and the signed values the verifier read outside them, such as a
 * Standard Webhooks `webhook-id`) and never forwarded, until an operator re-processes them
 * through newer adapters or a fixed configuration (src/admin.ts); then only their key row stays. Their rows in the operators'
 * index are written by ./index-feed.ts (every row here starts with `indexed` = 0).
 */

import type { SignedFields } from "../providers/provider";
import { type Claim, recordNonce } from "./claim";
import type { ObjectIdentity } from "./identity";
import type { Partitions } from "./partitions";
import type { LedgerStorage } from "./storage";
import type { QuarantinedEvent, QuarantineInput } from "./types";

/** Stores a verified callback the adapters could not read: kept raw, never forwarded. */
export function claimQuarantined(storage: LedgerStorage, identity: ObjectIdentity, partitions: Partitions, input: QuarantineInput): Claim {
  identity.check("quarantine", "quarantine");
  if (input.replay !== undefined && !recordNonce(storage, input.replay, input.receivedAt)) return { outcome: "replayed" };
  identity.claim("quarantine", "quarantine");
  identity.remember(input.source, input.account);
  // Verified input is kept whole: the bytes and what the signature covered outside them.
  const signed = input.signed === undefined || Object.keys(input.signed).length === 0 ? null : JSON.stringify(input.signed);
  const headers = input.headers === undefined ? null : JSON.stringify(input.headers);
  // Numbered as an account's events are (./partitions.ts invariant 1); taken only if inserted.
  const seq = partitions.highestSeq() + 1;
  const inserted = storage.rows(
    `INSERT INTO events (seq, id, source, idempotency_key, state, raw, reason, received_at, signed, headers)
     SELECT ?7, ?1, ?2, ?3, 'quarantined', ?4, ?5, ?6, ?8, ?9
     WHERE NOT EXISTS (SELECT 1 FROM events WHERE id = ?1) RETURNING seq`,
    input.id,
    input.source,
    input.idempotencyKey,
    input.raw,
    input.reason,
    input.receivedAt,
    seq,
    signed,
    headers,
  );
  if (inserted.length > 0) partitions.takeSeq();
  // The alarm writes its row to the operators' index (and retries it while D1 fails).
  return inserted.length > 0 ? { outcome: "stored", wakeAt: Date.now() } : { outcome: "duplicate" };
}

/**
 * Quarantined callbacks with their raw bytes and signed fields, oldest first, after `afterSeq`
 * (for re-processing). A row stored before signed fields were kept has none. An erased one
 * (./erase.ts: no bytes left) has nothing to re-process and is passed over.
 */
export function listQuarantined(storage: LedgerStorage, limit: number, afterSeq: number): QuarantinedEvent[] {
  return storage
    .rows<{ seq: number; id: string; reason: string; received_at: number; raw: ArrayBuffer; signed: string | null }>(
      "SELECT seq, id, reason, received_at, raw, signed FROM events WHERE state = 'quarantined' AND raw IS NOT NULL AND seq > ? ORDER BY seq LIMIT ?",
      afterSeq,
      Math.min(limit, 500),
    )
    .map((row) => {
      const signed = signedFields(row.signed);
      return {
        seq: row.seq,
        id: row.id,
        reason: row.reason,
        receivedAt: row.received_at,
        raw: new Uint8Array(row.raw),
        ...(signed !== undefined && { signed }),
      };
    });
}

/** The signed fields kept with a quarantined callback, if any (none once re-processed). */
export function keptSigned(storage: LedgerStorage, id: string): SignedFields | undefined {
  return signedFields(storage.rows<{ signed: string | null }>("SELECT signed FROM events WHERE id = ?", id)[0]?.signed ?? null);
}

/**
 * Reads the `signed` column. Only ./quarantine.ts writes it, from a verifier's result (an object
 * of strings); a value of another shape is a fault of the gateway, so it throws rather than
 * re-process a callback without the identity it was verified with.
 */
function signedFields(text: string | null): SignedFields | undefined {
  if (text === null) return undefined;
  const value: unknown = JSON.parse(text);
  if (typeof value !== "object" || value === null || Array.isArray(value) || !Object.values(value).every((v) => typeof v === "string")) {
    throw new TypeError("quarantine: a stored signed-fields value is not an object of strings");
  }
  return value as SignedFields;
}

/** The bytes received for a quarantined callback (none once re-processed or erased). */
export function rawBytes(storage: LedgerStorage, id: string): Uint8Array | undefined {
  const row = storage.rows<{ raw: ArrayBuffer | null }>("SELECT raw FROM events WHERE id = ?", id)[0];
  return row?.raw ? new Uint8Array(row.raw) : undefined;
}

/**
 * Marks a quarantined callback as re-processed (its event now lives in its account's ledger);
 * its index row is to be written again (indexed = 0). The bytes, signed fields and headers go:
 * the account's ledger holds the event now, and an operator's erasure of it (./erase.ts) must
 * not leave its payload here for the key retention. Returns the row's `seq` if it changed (its
 * key is now retention's to prune: the caller moves retention's cursor back to it).
 */
export function markReprocessed(storage: LedgerStorage, id: string, outcome: string): number | undefined {
  return storage.rows<{ seq: number }>(
    `UPDATE events SET state = 'reprocessed', reason = ?, indexed = 0, raw = NULL, signed = NULL, headers = NULL
     WHERE id = ? AND state = 'quarantined' RETURNING seq`,
    outcome,
    id,
  )[0]?.seq;
}
