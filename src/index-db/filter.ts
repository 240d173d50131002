/**
 * The operators' index filter as SQL, and its keyset pages: the one place where `{source,
 * account, type, status, from, to, q}` becomes SQL (./filter-query.ts reads it from a request).
 * Every value reaches D1 as a bound parameter; the SQL text is built from constants only.
 *
 * The queries are shaped for the two indexes of `events` (migrations/0001_index.sql), checked
 * with EXPLAIN QUERY PLAN in test/index-queries.test.ts:
 * - `q`: an event id is a primary-key lookup; a provider reference starts from `refs` (its
 *   primary key) and joins each match by id, so a search never scans `events`;
 * - a status other than `delivered` reads the partial index `events_attention (status,
 *   received_at)`; SQLite uses a partial index only when the query's WHERE repeats the index's
 *   own condition word for word, so the constant term `e.status != 'delivered'` is added;
 * - everything else walks `events_by_time (received_at)` newest first (the primary key `id`
 *   is part of every index entry, which makes (received_at, id) the order and the keyset);
 *   `from` and `to` bound that walk.
 */
import * as v from "valibot";
import { log } from "../log";
import { isoOrNull, isoTime } from "../time";
import { fromBase64UrlPadded, fromUtf8, toBase64UrlPadded, utf8 } from "../verify/crypto";

export const INDEX_STATUSES = ["pending", "delivered", "dead", "quarantined", "reprocessed"] as const;
export type IndexStatus = (typeof INDEX_STATUSES)[number];

/** The filter of lists, counts and bulk jobs. `from` is inclusive, `to` exclusive (Unix ms, received time). */
export interface IndexFilter {
  readonly source?: string;
  readonly account?: string;
  readonly type?: string;
  readonly status?: IndexStatus;
  readonly from?: number;
  readonly to?: number;
  readonly q?: string;
}

/** An event of the index as the admin API answers it (docs/operations.md "Searching events across accounts"). */
export interface IndexRow {
  readonly id: string;
  readonly source: string;
  readonly account: string;
  readonly seq: number;
  readonly type: string | null;
  readonly status: string;
  readonly amount: string | null;
  readonly currency: string | null;
  readonly refs: string[];
  readonly receivedAt: string;
  readonly deliveredAt: string | null;
  readonly nextAttemptAt: string | null;
  readonly attempts: number;
  readonly lastStatus: number | null;
  readonly reason: string | null;
  readonly indexedAt: string;
}

/** Page sizes: at most this many rows per page, whatever is asked. */
export const MAX_PAGE = 1000;
export const DEFAULT_PAGE = 100;

/** The exact form of an event id (src/ingress.ts eventId): `q` in this form is looked up by primary key. */
const EVENT_ID = /^evt_[0-9a-f]{32}$/;

/** Where a page ends: the last row's (received_at, id), the keyset the next page starts after. */
export interface Keyset {
  readonly receivedAt: number;
  readonly id: string;
}

const KeysetSchema = v.tuple([v.pipe(v.number(), v.safeInteger()), v.string()]);

/** Opaque to callers: base64url of the JSON `[received_at, id]`. */
export function encodeCursor(keyset: Keyset): string {
  return toBase64UrlPadded(utf8(JSON.stringify([keyset.receivedAt, keyset.id])));
}

export function decodeCursor(cursor: string): Keyset | undefined {
  const bytes = fromBase64UrlPadded(cursor);
  const json = bytes && fromUtf8(bytes);
  if (json === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    // Not a cursor this API wrote: the caller answers 400.
    return undefined;
  }
  const parsed = v.safeParse(KeysetSchema, value);
  return parsed.success ? { receivedAt: parsed.output[0], id: parsed.output[1] } : undefined;
}

/** SQL text and its bound values, in order. */
export interface Statement {
  readonly sql: string;
  readonly params: (string | number)[];
}

/** The columns of a listed event, read from `events AS e`. */
const COLUMNS =
  "e.id, e.source, e.account, e.seq, e.type, e.status, e.amount, e.currency, e.refs, e.received_at, e.delivered_at, e.next_attempt_at, e.attempts, e.last_status, e.reason, e.indexed_at";

/** FROM and WHERE of a filter: the table walk the indexes serve (module comment). */
function scope(filter: IndexFilter): { from: string; where: string[]; params: (string | number)[] } {
  const where: string[] = [];
  const params: (string | number)[] = [];
  let from = "events AS e";
  if (filter.q !== undefined) {
    if (EVENT_ID.test(filter.q)) {
      where.push("e.id = ?");
    } else {
      // CROSS JOIN fixes the loop order in SQLite: refs (by its primary key) outside, events by id inside.
      from = "refs AS r CROSS JOIN events AS e ON e.id = r.id";
      where.push("r.ref = ?");
    }
    params.push(filter.q);
  }
  for (const column of ["source", "account", "type"] as const) {
    const value = filter[column];
    if (value === undefined) continue;
    where.push(`e.${column} = ?`);
    params.push(value);
  }
  if (filter.status !== undefined) {
    where.push("e.status = ?");
    params.push(filter.status);
    if (filter.status !== "delivered") where.push("e.status != 'delivered'");
  }
  if (filter.from !== undefined) {
    where.push("e.received_at >= ?");
    params.push(filter.from);
  }
  if (filter.to !== undefined) {
    where.push("e.received_at < ?");
    params.push(filter.to);
  }
  return { from, where, params };
}

const whereClause = (where: readonly string[]) => (where.length === 0 ? "" : ` WHERE ${where.join(" AND ")}`);

/**
 * One page, newest first: `limit + 1` rows are asked for, so the answer knows whether another
 * page follows without a count. After a cursor, only rows strictly before its (received_at, id):
 * the first term bounds the index range, the second settles rows received in the same ms.
 */
export function listStatement(filter: IndexFilter, after: Keyset | undefined, limit: number): Statement {
  const { from, where, params } = scope(filter);
  if (after !== undefined) {
    where.push("e.received_at <= ?", "(e.received_at < ? OR e.id < ?)");
    params.push(after.receivedAt, after.receivedAt, after.id);
  }
  params.push(limit + 1);
  return {
    sql: `SELECT ${COLUMNS} FROM ${from}${whereClause(where)} ORDER BY e.received_at DESC, e.id DESC LIMIT ?`,
    params,
  };
}

export function countStatement(filter: IndexFilter): Statement {
  const { from, where, params } = scope(filter);
  return { sql: `SELECT count(*) AS n FROM ${from}${whereClause(where)}`, params };
}

interface EventColumns {
  id: string;
  source: string;
  account: string;
  seq: number;
  type: string | null;
  status: string;
  amount: string | null;
  currency: string | null;
  refs: string;
  received_at: number;
  delivered_at: number | null;
  next_attempt_at: number | null;
  attempts: number;
  last_status: number | null;
  reason: string | null;
  indexed_at: number;
}

/** The stored JSON array of references; anything else (never written by the gateway) reads as none. */
function refsOf(id: string, json: string): string[] {
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? value.filter((ref): ref is string => typeof ref === "string") : [];
  } catch {
    // A damaged cell must not fail a whole page; the event is still listed, without references.
    log("index_row", { level: "warn", eventId: id, problem: "refs is not a JSON array" });
    return [];
  }
}

function present(row: EventColumns): IndexRow {
  return {
    id: row.id,
    source: row.source,
    account: row.account,
    seq: row.seq,
    type: row.type,
    status: row.status,
    amount: row.amount,
    currency: row.currency,
    refs: refsOf(row.id, row.refs),
    receivedAt: isoTime(row.received_at),
    deliveredAt: isoOrNull(row.delivered_at),
    nextAttemptAt: isoOrNull(row.next_attempt_at),
    attempts: row.attempts,
    lastStatus: row.last_status,
    reason: row.reason,
    indexedAt: isoTime(row.indexed_at),
  };
}

export interface IndexPage {
  readonly rows: IndexRow[];
  /** Present when more rows follow: pass it back as `cursor`. */
  readonly next?: string;
  /** The last row's keyset (received_at in ms), for callers that page on their own. */
  readonly last?: Keyset;
}

/**
 * A page of the events matching `filter`, newest first (received_at, then id, descending).
 * `cursor` is a previous page's `next`; a cursor this module did not write throws a RangeError
 * (routes check it first with parsePageQuery). Paging to the end visits every row that matched
 * and existed throughout, once.
 */
export async function listIndexed(db: D1Database, filter: IndexFilter, cursor: string | undefined, limit: number): Promise<IndexPage> {
  const after = cursor === undefined ? undefined : decodeCursor(cursor);
  if (cursor !== undefined && after === undefined) throw new RangeError("cursor is not one this API gave");
  const size = Math.max(1, Math.min(Math.trunc(limit), MAX_PAGE));
  const { sql, params } = listStatement(filter, after, size);
  const { results } = await db
    .prepare(sql)
    .bind(...params)
    .all<EventColumns>();
  const page = results.slice(0, size);
  const lastRow = page.at(-1);
  const last = lastRow && { receivedAt: lastRow.received_at, id: lastRow.id };
  return {
    rows: page.map(present),
    ...(results.length > size && last !== undefined && { next: encodeCursor(last) }),
    ...(last !== undefined && { last }),
  };
}

/** How many events match `filter` (the bulk preview's number). */
export async function countIndexed(db: D1Database, filter: IndexFilter): Promise<number> {
  const { sql, params } = countStatement(filter);
  const row = await db
    .prepare(sql)
    .bind(...params)
    .first<{ n: number }>();
  return row?.n ?? 0;
}
