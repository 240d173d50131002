/**
 * The operators' ways of putting events back in the account's outbox (src/admin.ts): redeliver
 * one event, replay every delivered one since a time. Each keeps the event's `seq`, so it goes
 * out in order before newer events, with its original id. A row in a time partition moves to
 * `events` first (./partitions.ts invariant 3), where the outbox finds it through
 * `events_requeued` behind its cursor. Only rows are written here: the ledger shell sets the
 * alarm in the same synchronous block.
 */
import type { Cursors } from "./cursors";
import type { Partitions } from "./partitions";
import { keepSuccess } from "./partitions";
import { guardSkips, type RedeliverGuard } from "./redeliver-guard";
import type { LedgerStorage } from "./storage";

export type { RedeliverGuard } from "./redeliver-guard";

export class Requeue {
  constructor(
    private readonly storage: LedgerStorage,
    private readonly cursors: Cursors,
    private readonly partitions: Partitions,
  ) {}

  /**
   * Puts a dead (or backing-off, or delivered) event back at its place in the outbox, due
   * `now`. Its `seq` is unchanged, so it goes before newer events of the account: FIFO holds.
   * Older pending events (a head backing off) are made due now too, as the outbox cannot send
   * this one before them. Its row is marked for the operators' index (`indexed = 0`).
   * A delivered event in a partition moves to `events` first (./partitions.ts invariant 3);
   * a pending one there is only made due. With a `guard` (a bulk job's), an event touched since
   * its mark is left as it is: "skipped" (./redeliver-guard.ts).
   */
  redeliver(id: string, now: number, guard?: RedeliverGuard): "queued" | "queued_dead" | "skipped" | "not_found" | "not_redeliverable" {
    const row = this.storage.rows<{ seq: number; state: string; body: string | null; delivered_at: number | null }>(
      "SELECT seq, state, body, delivered_at FROM events WHERE id = ?",
      id,
    )[0];
    if (row === undefined) {
      const keys = this.partitions.locate(id);
      if (keys === undefined) return "not_found";
      const key = this.storage.rows<{ seq: number; state: string; delivered_at: number | null }>(
        `SELECT seq, state, delivered_at FROM ${keys.name} WHERE id = ?`,
        id,
      )[0]!;
      if (guard !== undefined && guardSkips(this.storage, key, guard)) return "skipped";
      if (this.partitions.bodiesHolding(keys, key.seq) === undefined) return "not_redeliverable";
      if (key.state === "pending") {
        this.storage.run(`UPDATE ${keys.name} SET next_attempt_at = ?2 WHERE id = ?1 AND next_attempt_at > ?2`, id, now);
      } else {
        this.partitions.moveToEvents(keys, id, { state: "pending", requeued: 1, nextAttemptAt: now });
        this.cursors.revisit(key.seq);
      }
      this.dueNowBefore(key.seq, now);
      return "queued";
    }
    if (guard !== undefined && guardSkips(this.storage, row, guard)) return "skipped";
    if ((row.state !== "dead" && row.state !== "pending" && row.state !== "delivered") || row.body === null) return "not_redeliverable";
    keepSuccess(this.storage, "events", "seq = ?", row.seq);
    // `requeued`: the outbox finds it behind its cursor; retention looks at it again once delivered.
    this.storage.run(
      "UPDATE events SET state = 'pending', requeued = 1, next_attempt_at = ?, delivered_at = NULL, delivered_ms = NULL, indexed = 0 WHERE seq = ?",
      now,
      row.seq,
    );
    this.cursors.revisit(row.seq);
    this.dueNowBefore(row.seq, now);
    return row.state === "dead" ? "queued_dead" : "queued";
  }

  /** Makes every pending event older than `seq` due `now` (each statement reads only pending rows after the cursor, or requeued ones). */
  private dueNowBefore(seq: number, now: number): void {
    const after = this.cursors.get("outbox_after");
    this.storage.run(
      "UPDATE events SET next_attempt_at = ?1 WHERE requeued = 1 AND state = 'pending' AND seq < ?2 AND next_attempt_at > ?1",
      now,
      seq,
    );
    this.storage.run(
      "UPDATE events SET next_attempt_at = ?1 WHERE seq > ?3 AND seq < ?2 AND state = 'pending' AND next_attempt_at > ?1",
      now,
      seq,
      after,
    );
    for (const bodies of this.partitions.bodies()) {
      if (this.partitions.lastSeq(bodies) <= after) continue;
      this.storage.run(
        `UPDATE ${bodies.keys} SET next_attempt_at = ?1
         WHERE id IN (SELECT id FROM ${bodies.name} WHERE seq > ?3 AND seq < ?2) AND state = 'pending' AND next_attempt_at > ?1`,
        now,
        seq,
        after,
      );
    }
  }

  /**
   * Puts every delivered event received since `since` (Unix ms) back in the outbox, due `now`,
   * with its original id: origins that dedupe on webhook-id should clear their record first.
   * Reads every row of the account received since then that still has its body (an operator's
   * action, not the hot path); a row in a partition moves to `events`.
   */
  replay(since: number, now: number): number {
    keepSuccess(this.storage, "events", "state = 'delivered' AND body IS NOT NULL AND received_at >= ?", since);
    const seqs = this.storage
      .rows<{ seq: number }>(
        "UPDATE events SET state = 'pending', requeued = 1, next_attempt_at = ?, delivered_at = NULL, delivered_ms = NULL, indexed = 0 WHERE state = 'delivered' AND body IS NOT NULL AND received_at >= ? RETURNING seq",
        now,
        since,
      )
      .map((r) => r.seq);
    for (const bodies of this.partitions.bodies()) for (const seq of this.partitions.replayToEvents(bodies, since, now)) seqs.push(seq);
    if (seqs.length > 0) this.cursors.revisit(seqs.reduce((low, seq) => Math.min(low, seq), Number.POSITIVE_INFINITY));
    return seqs.length;
  }
}
