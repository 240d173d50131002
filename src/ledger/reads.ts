/**
 * The operators' reads of a ledger's events (src/admin.ts): an account's outbox and history, or
 * a source's quarantine. An account's events are in `events` and in its time partitions
 * (./partitions.ts); these reads span both. Bodies are shown as the origin receives them, with
 * `sequence`; the detail of one event adds the allow-listed request headers it came with.
 */
import { withSequence } from "../delivery";
import { KEY_COLUMNS, type Partition } from "./partition-tables";
import type { Partitions } from "./partitions";
import type { AttemptRow, EventRow } from "./schema";
import type { LedgerStorage } from "./storage";

const EVENT_COLUMNS =
  "seq, id, source, idempotency_key, type, state, body, reason, received_at, attempts, next_attempt_at, last_status, delivered_at, delivered_ms";

export interface EventsQuery {
  limit?: number;
  afterSeq?: number;
  since?: number;
  state?: string;
}

/**
 * Events oldest first, optionally from a time on and in one state; at most 1,000. Partitions
 * are read oldest first (`seq` order) from the one holding `afterSeq` (the catalog's
 * `first_seq` says where each starts) until the page is full; a keys partition has no `seq`
 * index (it would cost a row written per event), so each one read is scanned whole: about one
 * row read per event it holds (docs/operations.md "Reading an account's history").
 */
export function listEvents(storage: LedgerStorage, partitions: Partitions | undefined, query: EventsQuery): EventRow[] {
  const limit = Math.min(query.limit ?? 100, 1000);
  const filter = "seq > ?1 AND received_at >= ?2 AND (?3 IS NULL OR state = ?3)";
  const bindings = [query.afterSeq ?? 0, query.since ?? 0, query.state ?? null, limit];
  const rows = storage.rows(
    `SELECT ${EVENT_COLUMNS} FROM events WHERE ${filter} ORDER BY seq LIMIT ?4`,
    ...bindings,
  ) as unknown as EventRow[];
  // Partition rows are pending or delivered only (./partitions.ts invariant 3).
  if (partitions !== undefined && (query.state === undefined || query.state === "pending" || query.state === "delivered")) {
    let found = 0;
    const all = partitions.keys();
    for (const [i, keys] of all.entries()) {
      if (found >= limit) break;
      // Wholly at or before `afterSeq`: the next partition's rows start after this one's.
      const next = all[i + 1];
      if (next !== undefined && next.firstSeq - 1 <= (query.afterSeq ?? 0)) continue;
      const page = storage.rows(
        `SELECT ${KEY_COLUMNS}, NULL AS body FROM ${keys.name} WHERE ${filter} ORDER BY seq LIMIT ?4`,
        ...bindings,
      ) as unknown as EventRow[];
      for (const row of page) row.body = bodyOf(storage, partitions, keys, row.seq);
      rows.push(...page);
      found += page.length;
    }
  }
  return rows
    .sort((a, b) => a.seq - b.seq)
    .slice(0, limit)
    .map(asSent);
}

/**
 * One event with all its delivery attempts: failed ones and earlier successes (an operator put
 * the event back) from `attempts`, the latest success from the event row.
 */
export function eventWithAttempts(
  storage: LedgerStorage,
  partitions: Partitions | undefined,
  id: string,
): { event: EventRow; attempts: AttemptRow[] } | undefined {
  let row = storage.rows(`SELECT ${EVENT_COLUMNS}, headers FROM events WHERE id = ?`, id)[0] as unknown as DetailRow | undefined;
  const keys = row === undefined ? partitions?.locate(id) : undefined;
  if (keys !== undefined && partitions !== undefined) {
    row = storage.rows(
      `SELECT ${KEY_COLUMNS}, NULL AS body, NULL AS headers FROM ${keys.name} WHERE id = ?`,
      id,
    )[0] as unknown as DetailRow;
    const bodies = partitions.bodiesHolding(keys, row.seq);
    const kept =
      bodies &&
      storage.rows<{ body: string; headers: string | null }>(`SELECT body, headers FROM ${bodies.name} WHERE seq = ?`, row.seq)[0];
    row.body = kept?.body ?? null;
    row.headers = kept?.headers ?? null;
  }
  if (row === undefined) return undefined;
  const event = asSent({ ...row, headers: headersOf(row.headers) });
  const attempts = storage.rows(
    "SELECT attempt, at, outcome, status, error, ms FROM attempts WHERE event_seq = ? ORDER BY attempt",
    event.seq,
  ) as unknown as AttemptRow[];
  if (event.delivered_at !== null) {
    attempts.push({
      attempt: event.attempts,
      at: event.delivered_at,
      outcome: "delivered",
      status: event.last_status,
      error: null,
      ms: event.delivered_ms ?? null,
    });
  }
  return { event, attempts };
}

/** A row as the detail reads it: the request headers as stored (JSON text). */
type DetailRow = Omit<EventRow, "headers"> & { headers: string | null };

/**
 * The kept request headers (src/ingress.ts writes them: an object of strings); null when none
 * were kept. A value of another shape is a fault of the gateway, so it throws rather than show it.
 */
function headersOf(text: string | null): Record<string, string> | null {
  if (text === null) return null;
  const value: unknown = JSON.parse(text);
  if (typeof value !== "object" || value === null || Array.isArray(value) || !Object.values(value).every((v) => typeof v === "string")) {
    throw new TypeError("reads: a stored headers value is not an object of strings");
  }
  return value as Record<string, string>;
}

/** A partition row's CloudEvent, while its bodies partition is kept. */
function bodyOf(storage: LedgerStorage, partitions: Partitions, keys: Partition, seq: number): string | null {
  const bodies = partitions.bodiesHolding(keys, seq);
  if (bodies === undefined) return null;
  return storage.rows<{ body: string }>(`SELECT body FROM ${bodies.name} WHERE seq = ?`, seq)[0]?.body ?? null;
}

/** A row as operators see it: its body as the origin receives it, with `sequence`. */
function asSent(row: EventRow): EventRow {
  return row.body === null || row.state === "quarantined" || row.state === "reprocessed"
    ? row
    : { ...row, body: withSequence(row.body, row.seq) };
}
