/**
 * The operators' reads of a ledger's events (src/admin.ts): an account's outbox and history, or
 * a source's quarantine. Bodies are shown as the origin receives them, with `sequence`.
 */
import { withSequence } from "../delivery";
import type { AttemptRow, EventRow } from "./schema";
import type { LedgerStorage } from "./storage";

const EVENT_COLUMNS =
  "seq, id, source, idempotency_key, type, state, body, reason, received_at, attempts, next_attempt_at, last_status, delivered_at";

export interface EventsQuery {
  limit?: number;
  afterSeq?: number;
  since?: number;
  state?: string;
}

/** Events oldest first, optionally from a time on and in one state; at most 1,000. */
export function listEvents(storage: LedgerStorage, query: EventsQuery): EventRow[] {
  const rows = storage.rows(
    `SELECT ${EVENT_COLUMNS} FROM events
     WHERE seq > ? AND received_at >= ? AND (? IS NULL OR state = ?)
     ORDER BY seq LIMIT ?`,
    query.afterSeq ?? 0,
    query.since ?? 0,
    query.state ?? null,
    query.state ?? null,
    Math.min(query.limit ?? 100, 1000),
  ) as unknown as EventRow[];
  return rows.map(asSent);
}

/** One event with all its delivery attempts (the successful one is kept in the event row). */
export function eventWithAttempts(storage: LedgerStorage, id: string): { event: EventRow; attempts: AttemptRow[] } | undefined {
  const row = storage.rows(`SELECT ${EVENT_COLUMNS} FROM events WHERE id = ?`, id)[0] as unknown as EventRow | undefined;
  if (row === undefined) return undefined;
  const event = asSent(row);
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
      ms: null,
    });
  }
  return { event, attempts };
}

/** A row as operators see it: its body as the origin receives it, with `sequence`. */
function asSent(row: EventRow): EventRow {
  return row.body === null || row.state === "quarantined" || row.state === "reprocessed"
    ? row
    : { ...row, body: withSequence(row.body, row.seq) };
}
