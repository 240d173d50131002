/**
 * The quarantine role (`{source}/~quarantine`): verified callbacks the adapters could not read,
 * kept raw and never forwarded, until an operator re-processes them through newer adapters
 * (src/admin.ts). Their KV index entries are written and deleted by the index sync.
 */
import { type Claim, recordNonce } from "./claim";
import type { ObjectIdentity } from "./identity";
import type { LedgerStorage } from "./storage";
import type { QuarantinedEvent, QuarantineInput } from "./types";

/** Stores a verified callback the adapters could not read: kept raw, never forwarded. */
export function claimQuarantined(storage: LedgerStorage, identity: ObjectIdentity, input: QuarantineInput): Claim {
  identity.check("quarantine", "quarantine");
  if (input.replay !== undefined && !recordNonce(storage, input.replay, input.receivedAt)) return { outcome: "replayed" };
  identity.claim("quarantine", "quarantine");
  identity.remember(input.source, input.account);
  const inserted = storage.rows(
    `INSERT INTO events (id, source, idempotency_key, state, raw, reason, received_at)
     SELECT ?1, ?2, ?3, 'quarantined', ?4, ?5, ?6
     WHERE NOT EXISTS (SELECT 1 FROM events WHERE id = ?1) RETURNING seq`,
    input.id,
    input.source,
    input.idempotencyKey,
    input.raw,
    input.reason,
    input.receivedAt,
  );
  // The alarm writes the operators' KV index entry (and retries it while KV fails).
  return inserted.length > 0 ? { outcome: "stored", wakeAt: Date.now() } : { outcome: "duplicate" };
}

/** Quarantined callbacks with their raw bytes, oldest first, after `afterSeq` (for re-processing). */
export function listQuarantined(storage: LedgerStorage, limit: number, afterSeq: number): QuarantinedEvent[] {
  return storage
    .rows<{ seq: number; id: string; reason: string; received_at: number; raw: ArrayBuffer }>(
      "SELECT seq, id, reason, received_at, raw FROM events WHERE state = 'quarantined' AND seq > ? ORDER BY seq LIMIT ?",
      afterSeq,
      Math.min(limit, 500),
    )
    .map((row) => ({ seq: row.seq, id: row.id, reason: row.reason, receivedAt: row.received_at, raw: new Uint8Array(row.raw) }));
}

/** The bytes received for a quarantined (or re-processed) callback. */
export function rawBytes(storage: LedgerStorage, id: string): Uint8Array | undefined {
  const row = storage.rows<{ raw: ArrayBuffer | null }>("SELECT raw FROM events WHERE id = ?", id)[0];
  return row?.raw ? new Uint8Array(row.raw) : undefined;
}

/**
 * Marks a quarantined callback as re-processed (its event now lives in its account's ledger);
 * its KV index entry is to be deleted (indexed = 2). Returns whether a row changed.
 */
export function markReprocessed(storage: LedgerStorage, id: string, outcome: string): boolean {
  return (
    storage.rows(
      "UPDATE events SET state = 'reprocessed', reason = ?, indexed = 2 WHERE id = ? AND state = 'quarantined' RETURNING seq",
      outcome,
      id,
    ).length > 0
  );
}
