/**
 * The index feed's walk over the time partitions (./index-feed.ts), from the cursor
 * `index_after`. What it relies on (./partitions.ts invariant 3 and in-order delivery): the
 * partition rows after the cursor are delivered ones, then the pending suffix; within that
 * suffix only its first row (the outbox head) changes (its attempts), and a later row changes
 * only once it is first. A dead letter, or an event an operator puts back, leaves the partitions
 * for `events`, whose rows the feed finds by their `indexed` flag instead.
 *
 * So one walk: the delivered rows (the cursor passes them), the first pending row (sent when its
 * attempts differ from what this isolate sent), then the pending rows this isolate never sent
 * (after `pendingThrough`), skipping those it did without reading them. In INDEX_MODE
 * "attention" a pending row is sent only once it is old enough, and the walk stops at the first
 * one that is not (rows are in arrival order): `youngAt` says when it will be.
 */
import type { Cursors } from "./cursors";
import { type LedgerRow, partitionRows } from "./index-rows";
import type { Partitions } from "./partitions";
import type { LedgerStorage } from "./storage";

/** What this isolate has sent of the partitions; a fresh isolate starts from nothing (and sends its pending rows once more). */
export interface ScanMemory {
  /** The first pending row, with the attempts it was sent with. */
  readonly head?: { readonly seq: number; readonly attempts: number };
  /** Every pending row after `head` up to this `seq` was sent (with 0 attempts: none of them was tried yet). */
  readonly pendingThrough: number;
  /** Every partition row up to this `seq` has been looked at. */
  readonly scannedThrough: number;
  /** "attention": when the first pending row not yet sent is old enough to be. */
  readonly youngAt?: number;
}

export interface PartitionScan {
  /** Delivered rows, in order: the cursor passes them once D1 has them. */
  readonly settled: LedgerRow[];
  /** Pending rows to send. */
  readonly pending: LedgerRow[];
  /** `index_after` once this batch is in D1. */
  readonly cursor: number;
  /** The memory once this batch is in D1. */
  readonly memory: ScanMemory;
  /** The walk stopped at its budget. */
  readonly more: boolean;
  /** The receipt of the oldest row this walk looked at for the first time (the index's lag). */
  readonly oldestTakenAt: number | undefined;
}

export interface ScanLimits {
  /** Rows to read at most. */
  readonly budget: number;
  readonly now: number;
  /** "attention": a pending row is sent once it has waited this long; undefined ("all"): at once. */
  readonly pendingAfterMs: number | undefined;
}

export function scanPartitions(
  storage: LedgerStorage,
  cursors: Cursors,
  partitions: Partitions,
  memory: ScanMemory,
  limits: ScanLimits,
): PartitionScan {
  const after = cursors.get("index_after");
  if (limits.budget <= 0) return { settled: [], pending: [], cursor: after, memory, more: true, oldestTakenAt: undefined };
  const highest = partitions.highestSeq();
  const seen = Math.max(memory.scannedThrough, memory.pendingThrough, memory.head?.seq ?? 0);
  const settled: LedgerRow[] = [];
  const pending: LedgerRow[] = [];
  let cursor = after;
  let first: LedgerRow | undefined;
  let head = memory.head;
  let pendingThrough = memory.pendingThrough;
  let youngAt: number | undefined;
  let read = 0;
  let lastRead = after;
  let oldestTakenAt: number | undefined;
  let stop: "budget" | "young" | undefined;
  let from = after;
  walk: for (;;) {
    let jumped = false;
    for (const row of partitionRows(storage, partitions, from, limits.budget, true)) {
      if (read >= limits.budget) {
        stop = "budget";
        break walk;
      }
      read += 1;
      lastRead = row.seq;
      if (row.seq > seen) oldestTakenAt = Math.min(oldestTakenAt ?? row.received_at, row.received_at);
      if (first === undefined && row.state !== "pending") {
        settled.push(row);
        cursor = row.seq;
        continue;
      }
      if (row.state === "pending" && limits.pendingAfterMs !== undefined && row.received_at > limits.now - limits.pendingAfterMs) {
        // Not old enough yet ("attention"); every later row arrived later still.
        youngAt = row.received_at + limits.pendingAfterMs;
        if (first === undefined) cursor = row.seq - 1;
        stop = "young";
        break walk;
      }
      if (first === undefined) {
        first = row;
        cursor = row.seq - 1;
        const sent = row.seq === memory.head?.seq ? memory.head.attempts : row.seq <= memory.pendingThrough ? 0 : undefined;
        if (sent !== row.attempts) pending.push(row);
        head = { seq: row.seq, attempts: row.attempts };
        if (memory.pendingThrough > row.seq) {
          // Rows up to pendingThrough were sent and have not changed since: not read again.
          from = memory.pendingThrough;
          lastRead = Math.max(lastRead, from);
          jumped = true;
          break;
        }
        pendingThrough = row.seq;
        continue;
      }
      // Behind the first pending row: pending and never sent by this isolate (a delivered row
      // here would break the invariant above; it is sent all the same, and the cursor waits).
      pending.push(row);
      pendingThrough = Math.max(pendingThrough, row.seq);
    }
    if (!jumped) break;
  }
  // Read to the end: every partition row up to `highest` was looked at; with nothing pending
  // the cursor passes them all (gaps are rows that moved to `events`).
  const scannedThrough = stop === "budget" ? lastRead : Math.max(highest, memory.scannedThrough);
  if (stop === undefined && first === undefined) {
    cursor = Math.max(cursor, highest);
    head = undefined;
  }
  return {
    settled,
    pending,
    cursor,
    memory: {
      ...(head !== undefined && { head }),
      pendingThrough,
      scannedThrough,
      ...(youngAt !== undefined && { youngAt }),
    },
    more: stop === "budget",
    oldestTakenAt,
  };
}
