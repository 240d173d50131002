/**
 * Positions in `seq` order that let the outbox and retention read only the rows they need,
 * without an index that every event would pay a row written for. `outbox_after` spans `events`
 * and the bodies partitions (./partitions.ts); the two retention cursors are positions in
 * `events` only (partitions are dropped whole). Each is kept in
 * `_meta` and in memory. Their invariants (test/cursors.test.ts checks them as properties):
 *
 * - `outbox_after`: every row at or before it is not pending, or has `requeued = 1` (an
 *   operator put it back; the partial index `events_requeued` finds those). So the outbox head
 *   is the first pending row after it, or a requeued one. Each look for the head moves it over
 *   the rows that look showed are not pending. Stored lazily (every
 *   OUTBOX_STORE_EVERY rows, not every run): any older stored value keeps the invariant, so a
 *   fresh isolate reads at most that many rows more once.
 * - `bodies_after`: retention has dropped every expired body at or before it (dead letters
 *   keep theirs until an operator acts, and that action moves it back before them).
 * - `keys_after`: likewise for deleted rows (keys).
 * - `seq_floor`: a `seq` no longer held in any table: the highest AUTOINCREMENT gave before
 *   migration 7, raised to a dropped bodies partition's last (./partitions.ts); a claim numbers
 *   after it, so `seq` never goes back.
 * - `index_after`: every time-partition row at or before it is delivered and its index row
 *   says so (./index-feed.ts). Rows of `events` are not its business (their `indexed` flag is).
 *   Stored lazily like `outbox_after`: an older stored value only sends rows again, and D1
 *   writes are idempotent.
 */
import type { LedgerStorage } from "./storage";

export type CursorName = "outbox_after" | "bodies_after" | "keys_after" | "seq_floor" | "index_after";

/** How far the outbox cursor may run ahead of its stored value. */
export const OUTBOX_STORE_EVERY = 64;
/** How far the index cursor may run ahead of its stored value. */
export const INDEX_STORE_EVERY = 64;

export class Cursors {
  private readonly value = new Map<CursorName, number>();
  private readonly stored = new Map<CursorName, number>();

  constructor(private readonly storage: LedgerStorage) {}

  get(name: CursorName): number {
    let value = this.value.get(name);
    if (value === undefined) {
      value = Number(this.storage.rows<{ value: string }>("SELECT value FROM _meta WHERE key = ?", name)[0]?.value ?? 0);
      this.value.set(name, value);
      this.stored.set(name, value);
    }
    return value;
  }

  /** Moves a cursor; stores it when it has moved at least `storeEvery` from its stored value, or back. */
  set(name: CursorName, value: number, storeEvery = 0): void {
    const stored = this.stored.get(name) ?? this.get(name);
    this.value.set(name, value);
    if (value < stored || value - stored >= storeEvery) {
      if (value === stored) return;
      this.storage.run(
        "INSERT INTO _meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        name,
        String(value),
      );
      this.stored.set(name, value);
    }
  }

  /** Moves the retention cursors back before `seq`, whose row an operator changed: retention looks at it again. */
  revisit(seq: number): void {
    for (const name of ["bodies_after", "keys_after"] as const) if (this.get(name) >= seq) this.set(name, seq - 1);
  }
}
