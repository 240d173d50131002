/** The rows the ledger's reads return (./reads.ts), as the operator API and the tests see them. */

export type EventState = "pending" | "delivered" | "dead" | "quarantined" | "reprocessed";

export interface EventRow {
  seq: number;
  id: string;
  source: string;
  idempotency_key: string;
  type: string | null;
  state: EventState;
  body: string | null;
  reason: string | null;
  received_at: number;
  attempts: number;
  next_attempt_at: number | null;
  last_status: number | null;
  delivered_at: number | null;
  /** The latest successful attempt's latency; null before migration 8 and while not delivered. */
  delivered_ms?: number | null;
  /** The allow-listed request headers it was received with (event detail only); null when none were kept (before migration 9). */
  headers?: Record<string, string> | null;
}

export interface AttemptRow {
  attempt: number;
  at: number;
  outcome: string;
  status: number | null;
  error: string | null;
  /** null for the successful attempt, which is kept in the event row. */
  ms: number | null;
}
