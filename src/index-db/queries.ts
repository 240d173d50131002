/**
 * The operators' index read for the admin API (docs/operations.md): dead letters and the
 * quarantine in their long-standing `entries` shape, the accounts' backlog and origin health,
 * and the index's own state (mode, retention, lag). Event lists and counts are in ./filter.ts,
 * shared with bulk jobs.
 */
import * as v from "valibot";
import { isoOrNull, isoTime } from "../time";
import { fromBase64UrlPadded, fromUtf8, toBase64UrlPadded, utf8 } from "../verify/crypto";
import { type IndexFilter, listIndexed, MAX_PAGE } from "./filter";

/** One dead letter or quarantined callback, as `GET /admin/dead-letters` and `/admin/quarantine` list it. */
export interface IndexEntry {
  readonly source: string;
  readonly account: string;
  readonly id: string;
  readonly reason: string;
  /** Received, Unix ms. */
  readonly at: number;
}

/** Reasons in entries are cut to this many characters: a list is for scanning (the event list has them whole). */
export const ENTRY_REASON_CHARS = 300;

function cutReason(reason: string | null): string {
  if (reason === null) return "";
  const chars = [...reason]; // code points: a surrogate pair stays whole
  return chars.length <= ENTRY_REASON_CHARS ? reason : `${chars.slice(0, ENTRY_REASON_CHARS - 1).join("")}…`;
}

/**
 * Dead letters (`status` dead) or quarantined callbacks (quarantined), newest first, from the
 * partial index `events_attention`. `cursor` is the previous page's and is present while more
 * entries remain.
 */
export async function listEntries(
  db: D1Database,
  status: "dead" | "quarantined",
  scope: Pick<IndexFilter, "source" | "account">,
  cursor: string | undefined,
  limit: number,
): Promise<{ entries: IndexEntry[]; cursor?: string }> {
  const page = await listIndexed(db, { ...scope, status }, cursor, limit);
  const entries = page.rows.map((row) => ({
    source: row.source,
    account: row.account,
    id: row.id,
    reason: cutReason(row.reason),
    at: Date.parse(row.receivedAt),
  }));
  return page.next === undefined ? { entries } : { entries, cursor: page.next };
}

/** An account's backlog and origin health as its ledger last wrote them (`accounts` table). */
export interface AccountSummary {
  readonly source: string;
  readonly account: string;
  readonly pending: number;
  readonly oldestPendingAt: string | null;
  readonly lastAttemptAt: string | null;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly consecutiveFailures: number;
  readonly lagMs: number | null;
  readonly updatedAt: string;
}

interface AccountColumns {
  source: string;
  account: string;
  pending: number;
  oldest_pending_at: number | null;
  last_attempt_at: number | null;
  last_status: number | null;
  last_error: string | null;
  consecutive_failures: number;
  lag_ms: number | null;
  updated_at: number;
}

const AccountCursor = v.tuple([v.string(), v.string()]);

export function encodeAccountCursor(source: string, account: string): string {
  return toBase64UrlPadded(utf8(JSON.stringify([source, account])));
}

/** The (source, account) a page of accounts ended at; undefined for anything this API did not write. */
export function decodeAccountCursor(cursor: string): [string, string] | undefined {
  const bytes = fromBase64UrlPadded(cursor);
  const json = bytes && fromUtf8(bytes);
  if (json === undefined) return undefined;
  try {
    const parsed = v.safeParse(AccountCursor, JSON.parse(json));
    return parsed.success ? parsed.output : undefined;
  } catch {
    // Not JSON: not a cursor this API gave; the route answers 400.
    return undefined;
  }
}

/**
 * Accounts in (source, account) order, read along the table's primary key; a page of `limit`
 * after `cursor` (the previous page's `next`, which is present while more follow).
 */
export async function listAccounts(
  db: D1Database,
  source: string | undefined,
  cursor: string | undefined,
  limit: number,
): Promise<{ accounts: AccountSummary[]; next?: string }> {
  const after = cursor === undefined ? undefined : decodeAccountCursor(cursor);
  if (cursor !== undefined && after === undefined) throw new RangeError("cursor is not one this API gave");
  const size = Math.max(1, Math.min(Math.trunc(limit), MAX_PAGE));
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (source !== undefined) {
    where.push("source = ?");
    params.push(source);
  }
  if (after !== undefined) {
    where.push("(source, account) > (?, ?)");
    params.push(after[0], after[1]);
  }
  params.push(size + 1);
  const { results } = await db
    .prepare(
      `SELECT source, account, pending, oldest_pending_at, last_attempt_at, last_status, last_error, consecutive_failures, lag_ms, updated_at
       FROM accounts${where.length === 0 ? "" : ` WHERE ${where.join(" AND ")}`} ORDER BY source, account LIMIT ?`,
    )
    .bind(...params)
    .all<AccountColumns>();
  const page = results.slice(0, size);
  const accounts = page.map((row) => ({
    source: row.source,
    account: row.account,
    pending: row.pending,
    oldestPendingAt: isoOrNull(row.oldest_pending_at),
    lastAttemptAt: isoOrNull(row.last_attempt_at),
    lastStatus: row.last_status,
    lastError: row.last_error,
    consecutiveFailures: row.consecutive_failures,
    lagMs: row.lag_ms,
    updatedAt: isoTime(row.updated_at),
  }));
  const last = page.at(-1);
  return results.length > size && last !== undefined ? { accounts, next: encodeAccountCursor(last.source, last.account) } : { accounts };
}

/** Accounts that wrote a batch this recently count towards the index's current lag. */
export const RECENT_BATCH_MS = 15 * 60 * 1000;

export interface IndexState {
  readonly mode: string;
  readonly retentionDays: number;
  /** The largest lag (written minus received, of a batch's oldest event) among accounts that wrote in the last 15 minutes. */
  readonly lagMs: number | null;
  /** The newest account row written: an account sends its row with a batch when it changed, and at least once a minute while it writes. */
  readonly updatedAt: string | null;
  /** Now minus `updatedAt`. */
  readonly sinceUpdateMs: number | null;
}

/**
 * The index's state for `GET /admin/index`, from one read of `accounts` (one row per account).
 * `events` has no index on `indexed_at`, and a max over it would read every row.
 */
export async function indexState(db: D1Database, now: number, settings: { mode: string; retentionDays: number }): Promise<IndexState> {
  const row = await db
    .prepare("SELECT max(updated_at) AS updated, max(CASE WHEN updated_at >= ? THEN lag_ms END) AS lag FROM accounts")
    .bind(now - RECENT_BATCH_MS)
    .first<{ updated: number | null; lag: number | null }>();
  const updated = row?.updated ?? null;
  return {
    mode: settings.mode,
    retentionDays: settings.retentionDays,
    lagMs: row?.lag ?? null,
    updatedAt: isoOrNull(updated),
    sinceUpdateMs: updated === null ? null : Math.max(0, now - updated),
  };
}
