/**
 * Claims and nonces: the dedupe authority. A claim is one `INSERT … WHERE NOT EXISTS` on the
 * event id (its `seq` is the account's CloudEvents `sequence`; a refused duplicate takes none),
 * made before any outbound I/O and durable before the ledger answers, so the Worker acks a
 * provider only for stored events. A signed nonce is recorded in the same synchronous block as
 * the claim, so a replay can never slip between the check and the write.
 */
import type { GatewayConfig } from "../config";
import type { Replay } from "../providers/provider";
import type { ObjectIdentity } from "./identity";
import type { Partitions } from "./partitions";
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

export interface Claim {
  readonly outcome: "stored" | "duplicate" | "replayed";
  /** When the object's alarm must be set, in the caller's synchronous block (storage first, then the alarm). */
  readonly wakeAt?: number;
}

/**
 * Claims a verified, normalized event in its account's outbox. `outboxEmpty` answers whether
 * nothing is pending (./outbox.ts, from its cursor).
 *
 * The id must be new to `events` and to every keys partition (./partitions.ts): one statement
 * probes each primary key (0 rows read on a miss) and inserts the key in the current keys
 * partition; the CloudEvent goes to the current bodies partition with the next `seq`. Rows
 * written: 2 (one per table; neither has another index). Both in one synchronous block, so
 * SQLite commits them together.
 */
export function claimEvent(
  storage: LedgerStorage,
  identity: ObjectIdentity,
  partitions: Partitions,
  input: AcceptInput,
  outboxEmpty: () => boolean,
  config: GatewayConfig | undefined,
): Claim {
  identity.check("accept", "account");
  if (input.replay !== undefined && !recordNonce(storage, input.replay, input.receivedAt)) return { outcome: "replayed" };
  identity.claim("accept", "account");
  identity.remember(input.source, input.account);
  if (input.legacyId !== undefined && identity.holdsLegacyIds()) {
    if (storage.rows("SELECT 1 FROM events WHERE id = ?", input.legacyId).length > 0) return { outcome: "duplicate" };
  }
  const outboxWasEmpty = outboxEmpty();
  const { keys, bodies } = partitions.forClaim(Date.now(), config);
  // The seq is only taken (kept) when the insert happens: a refused duplicate takes none.
  const seq = partitions.highestSeq() + 1;
  const inserted = storage.rows(
    `INSERT INTO ${keys.name} (id, seq, source, idempotency_key, type, state, received_at, next_attempt_at)
     SELECT ?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?6
     WHERE NOT EXISTS (SELECT 1 FROM events WHERE id = ?1) ${partitions.absentFromKeys()} RETURNING seq`,
    input.id,
    seq,
    input.source,
    input.idempotencyKey,
    input.type,
    input.receivedAt,
  );
  if (inserted.length === 0) return { outcome: "duplicate" };
  partitions.takeSeq(bodies);
  // The request headers ride in the body's row (a column, not a row more).
  const headers = input.headers === undefined ? null : JSON.stringify(input.headers);
  storage.run(`INSERT INTO ${bodies.name} (seq, id, body, headers) VALUES (?, ?, ?, ?)`, seq, input.id, input.body, headers);
  // A non-empty outbox already has its alarm at or before the head's due time (or a run in
  // progress, which schedules from the stored state when it ends); only a first pending event
  // needs one now, at the row's due time (its receipt), not at "now": never after the head.
  return outboxWasEmpty ? { outcome: "stored", wakeAt: input.receivedAt } : { outcome: "stored" };
}
