/**
 * Rows written straight into the operators' index (env.INDEX_DB, migrations/0001_index.sql),
 * for tests of its read side and retention: the shape the account objects write, with every
 * column chosen by the test.
 */
import { env } from "cloudflare:workers";

export interface SeedEvent {
  id: string;
  source: string;
  account: string;
  seq: number;
  type: string | null;
  status: string;
  amount: string | null;
  currency: string | null;
  refs: string[];
  received_at: number;
  delivered_at: number | null;
  attempts: number;
  last_status: number | null;
  next_attempt_at: number | null;
  reason: string | null;
  indexed_at: number;
}

export interface SeedAccount {
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

let serial = 0;

/** A fresh source name, so each test's rows are its own even where the database is shared. */
export function seedSource(): string {
  serial += 1;
  return `t${Date.now().toString(36)}${serial}${crypto.randomUUID().slice(0, 8)}`;
}

/** `evt_` + 32 random lowercase hex digits, the form of an event id. */
export function randomEventId(): string {
  return `evt_${crypto.randomUUID().replaceAll("-", "")}`;
}

export function seedEvent(overrides: Partial<SeedEvent> & Pick<SeedEvent, "source">): SeedEvent {
  return {
    id: randomEventId(),
    account: "a1",
    seq: 1,
    type: "deposit.updated",
    status: "delivered",
    amount: "1.50",
    currency: "USDT",
    refs: [],
    received_at: Date.now(),
    delivered_at: null,
    attempts: 1,
    last_status: 200,
    next_attempt_at: null,
    reason: null,
    indexed_at: Date.now(),
    ...overrides,
  };
}

/** Inserts events and one `refs` row per reference of each, in one batch. */
export async function insertEvents(rows: readonly SeedEvent[]): Promise<void> {
  if (rows.length === 0) return;
  const statements = [];
  for (const row of rows) {
    statements.push(
      env.INDEX_DB.prepare(
        `INSERT INTO events (id, source, account, seq, type, status, amount, currency, refs, received_at, delivered_at, attempts, last_status, next_attempt_at, reason, indexed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).bind(
        row.id,
        row.source,
        row.account,
        row.seq,
        row.type,
        row.status,
        row.amount,
        row.currency,
        JSON.stringify(row.refs),
        row.received_at,
        row.delivered_at,
        row.attempts,
        row.last_status,
        row.next_attempt_at,
        row.reason,
        row.indexed_at,
      ),
    );
    for (const ref of row.refs) statements.push(env.INDEX_DB.prepare("INSERT INTO refs (ref, id) VALUES (?, ?)").bind(ref, row.id));
  }
  await env.INDEX_DB.batch(statements);
}

export async function insertAccounts(rows: readonly SeedAccount[]): Promise<void> {
  if (rows.length === 0) return;
  await env.INDEX_DB.batch(
    rows.map((row) =>
      env.INDEX_DB.prepare(
        `INSERT INTO accounts (source, account, pending, oldest_pending_at, last_attempt_at, last_status, last_error, consecutive_failures, lag_ms, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).bind(
        row.source,
        row.account,
        row.pending,
        row.oldest_pending_at,
        row.last_attempt_at,
        row.last_status,
        row.last_error,
        row.consecutive_failures,
        row.lag_ms,
        row.updated_at,
      ),
    ),
  );
}

/** Newest first, as the index lists: received_at, then id, descending. */
export function newestFirst(a: SeedEvent, b: SeedEvent): number {
  return b.received_at - a.received_at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}
