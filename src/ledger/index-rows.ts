/**
 * What the index feed (./index-feed.ts) reads of the ledger: the rows of `events` whose index
 * row is still to be written, the time partitions' rows in `seq` order from a position, and the
 * account's backlog and origin health. Reads only, each bounded; the feed decides what to send.
 */
import type { Cursors } from "./cursors";
import type { Partitions } from "./partitions";
import type { LedgerStorage } from "./storage";

/**
 * An event row as the index reads it, wherever it is: `home` is the table its body is in
 * (`events` or a bodies partition). A partition row read for the index carries its body when
 * it is small (`small_body`: read with the row, no row read more); any other body is read one
 * row at a time (`bodyOf`) when the row is described, so a batch never holds a hundred large
 * bodies in memory at once.
 */
export interface LedgerRow {
  seq: number;
  id: string;
  source: string;
  type: string | null;
  state: string;
  home: string;
  reason: string | null;
  received_at: number;
  attempts: number;
  next_attempt_at: number | null;
  last_status: number | null;
  delivered_at: number | null;
  /** The body, when read with the row (at most SMALL_BODY_BYTES); null or absent: read it with `bodyOf`. */
  small_body?: string | null;
}

type Row = LedgerRow & Record<string, SqlStorageValue>;

/** Bodies up to this size come with their partition row (`partitionRows` with `withBody`). */
const SMALL_BODY_BYTES = 16_384;

const COLUMNS = "seq, id, source, type, state, 'events' AS home, reason, received_at, attempts, next_attempt_at, last_status, delivered_at";

/** Rows of `events` whose index row is not written as they stand (`indexed = 0`, the partial index `events_index_work`), oldest first. */
export function eventsWork(storage: LedgerStorage, limit: number): LedgerRow[] {
  return storage.rows<Row>(`SELECT ${COLUMNS} FROM events WHERE indexed = 0 ORDER BY seq LIMIT ?`, limit);
}

/** Whether any row of `events` waits for the index (one probe of the partial index: 0 or 1 row read). */
export function hasEventsWork(storage: LedgerStorage): boolean {
  return storage.rows("SELECT 1 FROM events WHERE indexed = 0 LIMIT 1").length > 0;
}

/**
 * Marks rows of `events` as written to the index, each only if it did not change since it was
 * read (state, attempts, reason): a row an operator or the outbox changed during the D1 call
 * stays marked 0 and is sent again.
 */
export function markIndexed(storage: LedgerStorage, rows: readonly LedgerRow[]): void {
  for (const row of rows) {
    storage.run(
      "UPDATE events SET indexed = 1 WHERE seq = ? AND indexed = 0 AND state = ? AND attempts = ? AND reason IS ?",
      row.seq,
      row.state,
      row.attempts,
      row.reason,
    );
  }
}

/** The CloudEvent of a row read by this module, if it is still kept (the one read with it, or one row read). */
export function bodyOf(storage: LedgerStorage, row: LedgerRow): string | null {
  if (typeof row.small_body === "string") return row.small_body;
  return storage.rows<{ body: string | null }>(`SELECT body FROM ${row.home} WHERE seq = ?`, row.seq)[0]?.body ?? null;
}

/**
 * The time partitions' rows after `after`, in `seq` order, read in pages of `page` (a consumer
 * that stops early reads no further page). A bodies partition holds `seq` as its rowid, so each
 * page is a range read; its key is found by primary key.
 */
export function* partitionRows(
  storage: LedgerStorage,
  partitions: Partitions,
  after: number,
  page: number,
  withBody = false,
): Generator<LedgerRow> {
  // The body is in the row the join reads anyway: taking a small one costs no row read more.
  const body = withBody ? `, CASE WHEN length(CAST(b.body AS BLOB)) <= ${SMALL_BODY_BYTES} THEN b.body END AS small_body` : "";
  for (const bodies of partitions.bodies()) {
    if (partitions.lastSeq(bodies) <= after) continue;
    let from = after;
    for (;;) {
      const rows = storage.rows<Row>(
        `SELECT b.seq, b.id, k.source, k.type, k.state, '${bodies.name}' AS home, k.reason, k.received_at, k.attempts, k.next_attempt_at,
                k.last_status, k.delivered_at${body}
         FROM ${bodies.name} AS b JOIN ${bodies.keys} AS k ON k.id = b.id WHERE b.seq > ? ORDER BY b.seq LIMIT ?`,
        from,
        page,
      );
      yield* rows;
      if (rows.length < page) break;
      from = rows.at(-1)!.seq;
    }
  }
}

export interface Backlog {
  /** Events pending in the outbox. */
  readonly pending: number;
  readonly oldestPendingAt: number | null;
  /** The outbox head (the lowest pending `seq`), if any. */
  readonly headSeq: number | undefined;
}

/**
 * The outbox's backlog, without reading every pending row: in the time partitions the pending
 * rows are the suffix from the first pending one (./partitions.ts invariant 3, delivery in
 * order), so they are counted by `seq` arithmetic, less the rows of that range that moved to
 * `events`; pending rows of `events` are those after the outbox cursor and those put back
 * (`events_requeued`). A few rows read, whatever the backlog.
 */
export function backlog(storage: LedgerStorage, cursors: Cursors, partitions: Partitions): Backlog {
  const after = cursors.get("outbox_after");
  let first: LedgerRow | undefined;
  let lastPartitionSeq = 0;
  for (const bodies of partitions.bodies()) lastPartitionSeq = Math.max(lastPartitionSeq, partitions.lastSeq(bodies));
  // The first pending partition row: the outbox keeps its cursor just before its head, so this
  // reads one or two rows; pages double over delivered rows a stale cursor leaves.
  let from = after;
  for (let page = 1; ; page = Math.min(page * 2, 256)) {
    const rows = [...take(partitionRows(storage, partitions, from, page), page)];
    first = rows.find((r) => r.state === "pending");
    if (first !== undefined || rows.length < page) break;
    from = rows.at(-1)!.seq;
  }
  let pending = 0;
  if (first !== undefined) {
    const moved = storage.rows<{ n: number }>(
      "SELECT COUNT(*) AS n FROM events WHERE seq >= ? AND seq <= ?",
      first.seq,
      lastPartitionSeq,
    )[0]!.n;
    pending = lastPartitionSeq - first.seq + 1 - moved;
  }
  const held = storage.rows<{ n: number; oldest: number | null; head: number | null }>(
    `SELECT COUNT(*) AS n, MIN(received_at) AS oldest, MIN(seq) AS head FROM (
       SELECT seq, received_at FROM events WHERE seq > ?1 AND state = 'pending'
       UNION ALL SELECT seq, received_at FROM events WHERE requeued = 1 AND state = 'pending' AND seq <= ?1)`,
    after,
  )[0]!;
  const oldest = [first?.received_at, held.oldest ?? undefined].filter((t) => t !== undefined);
  const heads = [first?.seq, held.head ?? undefined].filter((s) => s !== undefined);
  return {
    pending: pending + held.n,
    oldestPendingAt: oldest.length === 0 ? null : Math.min(...oldest),
    headSeq: heads.length === 0 ? undefined : Math.min(...heads),
  };
}

/** At most `n` items of a generator (the rest is never read). */
function* take<T>(items: Generator<T>, n: number): Generator<T> {
  if (n <= 0) return;
  let count = 0;
  for (const item of items) {
    yield item;
    if (++count >= n) return;
  }
}

export interface Attempt {
  readonly at: number;
  readonly status: number | null;
  readonly error: string | null;
}

/** An event's latest recorded failed attempt (the `attempts` table keeps failures; a success is in the event row). */
export function lastFailure(storage: LedgerStorage, seq: number): Attempt | undefined {
  return storage.rows<{ at: number; status: number | null; error: string | null }>(
    "SELECT at, status, error FROM attempts WHERE event_seq = ? AND outcome != 'delivered' ORDER BY attempt DESC LIMIT 1",
    seq,
  )[0];
}

/** The head's failed attempts since its last success (a redelivered event's earlier success ends the run). */
export function consecutiveFailures(storage: LedgerStorage, seq: number): number {
  return storage.rows<{ n: number }>(
    `SELECT COUNT(*) AS n FROM attempts WHERE event_seq = ?1 AND outcome != 'delivered'
       AND attempt > IFNULL((SELECT MAX(attempt) FROM attempts WHERE event_seq = ?1 AND outcome = 'delivered'), 0)`,
    seq,
  )[0]!.n;
}
