/**
 * Where the account's outbox head is (./outbox.ts sends it): the first pending row after the
 * `outbox_after` cursor, in `events` or a bodies partition, or an older one an operator put back.
 */
import { type Cursors, OUTBOX_STORE_EVERY } from "./cursors";
import type { Partition, Partitions } from "./partitions";
import type { LedgerStorage } from "./storage";

export type HeadRow = {
  seq: number;
  id: string;
  source: string;
  body: string;
  attempts: number;
  next_attempt_at: number | null;
  state: string;
};

/** The outbox head, and where its row is: a keys partition, or `events` (undefined). */
export type Head = HeadRow & { keys?: Partition | undefined };

const HEAD_COLUMNS = "seq, id, source, body, attempts, next_attempt_at, state";

export class OutboxHead {
  constructor(
    private readonly storage: LedgerStorage,
    private readonly cursors: Cursors,
    private readonly partitions: Partitions,
  ) {}

  /**
   * The oldest pending event: the first pending row after the `outbox_after` cursor, in
   * `events` or in the bodies partitions (walked oldest first, which is `seq` order:
   * ./partitions.ts), or an older one an operator put back (`events_requeued`, empty
   * otherwise), whichever comes first (./cursors.ts). Reads the rows between the cursor and the
   * head: in steady state the head's body row and key (2 rows), plus the one delivered just
   * before it; at most OUTBOX_STORE_EVERY more in a fresh isolate. This is also what moves the
   * cursor: a head delivered or dead-lettered is passed over by the next look.
   */
  read(): Head | undefined {
    const after = this.cursors.get("outbox_after");
    let next: Head | undefined = this.storage.rows<HeadRow & Record<string, SqlStorageValue>>(
      `SELECT ${HEAD_COLUMNS} FROM events WHERE seq > ? AND state = 'pending' ORDER BY seq LIMIT 1`,
      after,
    )[0];
    for (const bodies of this.partitions.bodies()) {
      if (this.partitions.lastSeq(bodies) <= after) continue;
      const row = this.firstPending(bodies, after, next?.seq ?? Number.MAX_SAFE_INTEGER);
      if (row !== undefined) {
        next = { ...row, keys: this.partitions.keys().find((k) => k.name === bodies.keys) };
        break;
      }
      if (next !== undefined && this.partitions.lastSeq(bodies) >= next.seq) break;
    }
    // Every row between the cursor and `next` (or the newest row) is not pending, as these reads
    // just showed: the cursor moves over them, so each is read once, whatever the object holds
    // (a quarantine's rows, dead letters, rows delivered before a restart).
    const done = next !== undefined ? next.seq - 1 : this.partitions.highestSeq();
    if (done > after) this.cursors.set("outbox_after", done, OUTBOX_STORE_EVERY);
    const requeued = this.storage.rows<HeadRow & Record<string, SqlStorageValue>>(
      `SELECT ${HEAD_COLUMNS} FROM events WHERE requeued = 1 AND state = 'pending' ORDER BY seq LIMIT 1`,
    )[0];
    if (next === undefined) return requeued;
    return requeued !== undefined && requeued.seq < next.seq ? requeued : next;
  }

  /**
   * The first pending row of a bodies partition between two `seq`s. A partition row is pending
   * or delivered (./partitions.ts invariant 3): the walk steps over delivered ones in pages that
   * double from 1 (in steady state the first row after the cursor is the head: its body and its
   * key, 2 rows read), so it reads little past the head however long the run of delivered rows
   * behind it.
   */
  private firstPending(bodies: Partition, after: number, before: number): HeadRow | undefined {
    let from = after;
    for (let page = 1; ; page = Math.min(page * 2, 256)) {
      const rows = this.storage.rows<HeadRow & Record<string, SqlStorageValue>>(
        `SELECT b.seq, b.id, k.source, b.body, k.attempts, k.next_attempt_at, k.state
         FROM ${bodies.name} AS b JOIN ${bodies.keys} AS k ON k.id = b.id
         WHERE b.seq > ?1 AND b.seq < ?2 ORDER BY b.seq LIMIT ?3`,
        from,
        before,
        page,
      );
      const pending = rows.find((r) => r.state === "pending");
      if (pending !== undefined || rows.length < page) return pending;
      from = rows.at(-1)!.seq;
    }
  }
}
