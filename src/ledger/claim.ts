/**
 * Claims and nonces: the dedupe authority. A claim is one `INSERT … WHERE NOT EXISTS` on the
 * event id (its `seq` is the account's CloudEvents `sequence`; a refused duplicate takes none),
 * made before any outbound I/O and durable before the ledger answers, so the Worker acks a
 * provider only for stored events. A signed nonce is recorded in the same synchronous block as
 * the claim, so a replay can never slip between the check and the write.
 */
import type { Replay } from "../providers/provider";
import type { ObjectIdentity } from "./identity";
import type { LedgerStorage } from "./storage";
import type { AcceptInput } from "./types";

/**
 * Records a signed nonce; false if it is already recorded and not yet expired. Expired nonces
 * are dropped first, so a nonce is refused for exactly as long as its signature could be replayed.
 */
export function recordNonce(storage: LedgerStorage, replay: Replay, now: number): boolean {
  storage.run("DELETE FROM nonces WHERE expires_at < ?", now);
  const fresh = storage.rows(
    "INSERT INTO nonces (nonce, expires_at) VALUES (?, ?) ON CONFLICT (nonce) DO NOTHING RETURNING nonce",
    replay.nonce,
    replay.expiresAt,
  );
  return fresh.length > 0;
}

/**
 * The `seq` a new row takes: one more than the highest held, and above `seq_floor` (the
 * highest number AUTOINCREMENT gave before migration 7). Retention never deletes the newest
 * row, so the number only grows. `MAX(seq)` on the primary key reads one row.
 */
export const NEXT_SEQ = "MAX(IFNULL((SELECT MAX(seq) FROM events), 0), ?7) + 1";

export interface Claim {
  readonly outcome: "stored" | "duplicate" | "replayed";
  /** When the object's alarm must be set, in the caller's synchronous block (storage first, then the alarm). */
  readonly wakeAt?: number;
}

/**
 * Claims a verified, normalized event in its account's outbox. `outboxEmpty` answers whether
 * nothing is pending (./outbox.ts, from its cursor); `seqFloor` is the `seq_floor` cursor.
 */
export function claimEvent(
  storage: LedgerStorage,
  identity: ObjectIdentity,
  input: AcceptInput,
  outboxEmpty: () => boolean,
  seqFloor: number,
): Claim {
  identity.check("accept", "account");
  if (input.replay !== undefined && !recordNonce(storage, input.replay, input.receivedAt)) return { outcome: "replayed" };
  identity.claim("accept", "account");
  identity.remember(input.source, input.account);
  if (input.legacyId !== undefined && identity.holdsLegacyIds()) {
    if (storage.rows("SELECT 1 FROM events WHERE id = ?", input.legacyId).length > 0) return { outcome: "duplicate" };
  }
  const outboxWasEmpty = outboxEmpty();
  // Inserted only if the id is new, with the next `seq` (the account's `sequence`, where a gap
  // must mean a dead-lettered event, never a provider's retry). Rows written: the row and its
  // `id` entry; no other index holds a pending row (./cursors.ts).
  const inserted = storage.rows(
    `INSERT INTO events (seq, id, source, idempotency_key, type, state, body, received_at, next_attempt_at)
     SELECT ${NEXT_SEQ}, ?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?6
     WHERE NOT EXISTS (SELECT 1 FROM events WHERE id = ?1) RETURNING seq`,
    input.id,
    input.source,
    input.idempotencyKey,
    input.type,
    input.body,
    input.receivedAt,
    seqFloor,
  );
  if (inserted.length === 0) return { outcome: "duplicate" };
  // A non-empty outbox already has its alarm at or before the head's due time (or a run in
  // progress, which schedules from the stored state when it ends); only a first pending event
  // needs one now, at the row's due time (its receipt), not at "now": never after the head.
  return outboxWasEmpty ? { outcome: "stored", wakeAt: input.receivedAt } : { outcome: "stored" };
}
