/**
 * Ledger rows → the D1 statements of one index batch (migrations/0001_index.sql). Pure: the
 * account object (src/ledger/index-feed.ts) reads its rows, calls this, and sends the result
 * as one `batch()`, which D1 runs as one transaction.
 *
 * A batch is at most six statements whatever its size (four, plus two when it holds an erased event): the rows travel as one JSON parameter
 * each (`json_each`), so a batch of a hundred events stays far under D1's limit on queries per
 * invocation.
 * - `upserts`: INSERT … ON CONFLICT (id) DO UPDATE of the rows the index must hold. The update
 *   runs only when something it shows changed, so sending a row again (a cursor stored
 *   lazily, a retried batch, a fresh isolate) writes nothing. `received_at` never changes, so
 *   `events_by_time` is never rewritten; the amount, currency, type and references are kept
 *   when a later send has none (an event whose body was pruned or erased since).
 * - their references: INSERT OR IGNORE into `refs` (a reference already there writes nothing).
 * - `updates`: UPDATE of rows that may or may not be in the index (INDEX_MODE "attention": a
 *   delivered event is written only if the index holds it; when it does not, 0 rows written).
 * - for events whose payload an operator erased (their `reason` says so: src/ledger/erase.ts),
 *   their amount, currency and references are cleared and their `refs` rows deleted, after the
 *   upserts: the erase route clears them too, but a batch read before the erasure can land
 *   after it; this later batch (the erasure marks the row to be sent again) clears them for good.
 * - the account's row (`accounts`), when the feed sends it.
 */
import { erasedAt } from "../ledger/erase";

/** One event as the index holds it (times in Unix ms). */
export interface IndexEvent {
  readonly id: string;
  readonly source: string;
  readonly account: string;
  readonly seq: number;
  readonly type: string | null;
  readonly status: string;
  readonly amount: string | null;
  readonly currency: string | null;
  readonly refs: readonly string[];
  readonly receivedAt: number;
  readonly deliveredAt: number | null;
  readonly attempts: number;
  readonly lastStatus: number | null;
  readonly nextAttemptAt: number | null;
  readonly reason: string | null;
}

/** The account object's row: backlog and origin health as it sees them. */
export interface AccountState {
  readonly source: string;
  readonly account: string;
  readonly pending: number;
  readonly oldestPendingAt: number | null;
  /** The latest delivery attempt this object knows of; undefined keeps the one the index has. */
  readonly lastAttempt?: { readonly at: number; readonly status: number | null; readonly error: string | null };
  readonly consecutiveFailures: number;
  /** indexed_at − received_at of the oldest event this batch took in; null keeps the index's. */
  readonly lagMs: number | null;
}

export type Param = string | number | null;

/** One statement: its text (constants only) and its bound parameters. */
export interface Statement {
  readonly query: string;
  readonly params: readonly Param[];
}

/** Reasons are cut to this many characters in the index (the ledger keeps them whole). */
export const REASON_CHARS = 1000;

const cut = (text: string | null) => (text === null || text.length <= REASON_CHARS ? text : `${text.slice(0, REASON_CHARS - 1)}…`);

/** The row as one JSON array, in the column order the statements read (`value ->> n`). */
function tuple(e: IndexEvent): unknown[] {
  return [
    e.id,
    e.source,
    e.account,
    e.seq,
    e.type,
    e.status,
    e.amount,
    e.currency,
    e.refs,
    e.receivedAt,
    e.deliveredAt,
    e.attempts,
    e.lastStatus,
    e.nextAttemptAt,
    cut(e.reason),
  ];
}

/** What an update sets and when it runs: only when a shown column changed. */
const CHANGED = `events.status IS NOT excluded.status OR events.attempts IS NOT excluded.attempts
  OR events.delivered_at IS NOT excluded.delivered_at OR events.reason IS NOT excluded.reason
  OR events.last_status IS NOT excluded.last_status OR events.next_attempt_at IS NOT excluded.next_attempt_at
  OR events.seq IS NOT excluded.seq OR (excluded.refs != '[]' AND events.refs IS NOT excluded.refs)
  OR (excluded.amount IS NOT NULL AND events.amount IS NOT excluded.amount)`;

const UPSERT = `INSERT INTO events (id, source, account, seq, type, status, amount, currency, refs, received_at,
    delivered_at, attempts, last_status, next_attempt_at, reason, indexed_at)
  SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7,
    value -> 8, value ->> 9, value ->> 10, value ->> 11, value ->> 12, value ->> 13, value ->> 14, ?2
  FROM json_each(?1) WHERE true
  ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, type = COALESCE(excluded.type, events.type), status = excluded.status,
    amount = COALESCE(excluded.amount, events.amount), currency = COALESCE(excluded.currency, events.currency),
    refs = CASE WHEN excluded.refs = '[]' THEN events.refs ELSE excluded.refs END, delivered_at = excluded.delivered_at,
    attempts = excluded.attempts, last_status = excluded.last_status, next_attempt_at = excluded.next_attempt_at,
    reason = excluded.reason, indexed_at = excluded.indexed_at
  WHERE ${CHANGED}`;

const REFS = "INSERT OR IGNORE INTO refs (ref, id) SELECT value ->> 0, value ->> 1 FROM json_each(?1)";

/** The same columns as an upsert's update, from the JSON row `u.value`, only where the index holds the event. */
const UPDATE = `UPDATE events SET seq = u.value ->> 3, status = u.value ->> 5, delivered_at = u.value ->> 10,
    attempts = u.value ->> 11, last_status = u.value ->> 12, next_attempt_at = u.value ->> 13, reason = u.value ->> 14,
    indexed_at = ?2
  FROM json_each(?1) AS u
  WHERE events.id = u.value ->> 0 AND (events.status IS NOT u.value ->> 5 OR events.attempts IS NOT u.value ->> 11
    OR events.delivered_at IS NOT u.value ->> 10 OR events.reason IS NOT u.value ->> 14 OR events.seq IS NOT u.value ->> 3)`;

/** An erased event keeps no copy of its payload in the index: its references go, then the columns that listed them. */
const ERASED_REFS =
  "DELETE FROM refs WHERE (ref, id) IN (SELECT r.value, e.id FROM events AS e, json_each(e.refs) AS r WHERE e.id IN (SELECT value FROM json_each(?1)))";
const ERASED_COLUMNS = "UPDATE events SET amount = NULL, currency = NULL, refs = '[]' WHERE id IN (SELECT value FROM json_each(?1))";

const ACCOUNT = `INSERT INTO accounts (source, account, pending, oldest_pending_at, last_attempt_at, last_status, last_error,
    consecutive_failures, lag_ms, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
  ON CONFLICT (source, account) DO UPDATE SET pending = excluded.pending, oldest_pending_at = excluded.oldest_pending_at,
    last_attempt_at = COALESCE(excluded.last_attempt_at, accounts.last_attempt_at),
    last_status = CASE WHEN excluded.last_attempt_at IS NULL THEN accounts.last_status ELSE excluded.last_status END,
    last_error = CASE WHEN excluded.last_attempt_at IS NULL THEN accounts.last_error ELSE excluded.last_error END,
    consecutive_failures = excluded.consecutive_failures, lag_ms = COALESCE(excluded.lag_ms, accounts.lag_ms),
    updated_at = excluded.updated_at`;

/** The statements of one batch, in the order D1 runs them; empty when there is nothing to write. */
export function indexStatements(
  upserts: readonly IndexEvent[],
  updates: readonly IndexEvent[],
  account: AccountState | undefined,
  indexedAt: number,
): Statement[] {
  const statements: Statement[] = [];
  if (upserts.length > 0) {
    statements.push({ query: UPSERT, params: [JSON.stringify(upserts.map(tuple)), indexedAt] });
    const refs = upserts.flatMap((e) => e.refs.map((ref) => [ref, e.id]));
    if (refs.length > 0) statements.push({ query: REFS, params: [JSON.stringify(refs)] });
  }
  if (updates.length > 0) statements.push({ query: UPDATE, params: [JSON.stringify(updates.map(tuple)), indexedAt] });
  const erased = [...upserts, ...updates].filter((e) => erasedAt(e.reason) !== undefined).map((e) => e.id);
  if (erased.length > 0) {
    statements.push({ query: ERASED_REFS, params: [JSON.stringify(erased)] });
    statements.push({ query: ERASED_COLUMNS, params: [JSON.stringify(erased)] });
  }
  if (account !== undefined) {
    const last = account.lastAttempt;
    statements.push({
      query: ACCOUNT,
      params: [
        account.source,
        account.account,
        account.pending,
        account.oldestPendingAt,
        last?.at ?? null,
        last?.status ?? null,
        cut(last?.error ?? null),
        account.consecutiveFailures,
        account.lagMs,
        indexedAt,
      ],
    });
  }
  return statements;
}
