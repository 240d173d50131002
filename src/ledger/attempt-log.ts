/** What the outbox says about each attempt: its log line, and a dead letter for the operations webhook. */
import { now } from "../clock";
import type { AttemptOutcome } from "../delivery";
import { log } from "../log";

/** An event just dead-lettered (./dead-letter.ts raises its operations event). */
export interface DeadLetter {
  readonly id: string;
  readonly source: string;
  readonly seq: number;
  readonly attempts: number;
  readonly status: number | null;
  readonly error: string | null;
}

/**
 * One line per attempt. Its level: a delivery is `info`; a failed attempt that will be retried
 * is `warn` (the outbox absorbs it, but the origin is failing); a dead letter is `error`: it
 * waits for an operator (docs/operations.md).
 */
export function logAttempt(
  head: { readonly source: string; readonly id: string },
  account: string | undefined,
  outcome: AttemptOutcome,
  attempt: number,
  ms: number,
  result: "delivered" | "retry" | "dead",
  retryAt?: number,
): void {
  log("delivery", {
    level: result === "delivered" ? "info" : result === "retry" ? "warn" : "error",
    source: head.source,
    account,
    eventId: head.id,
    attempt,
    outcome: outcome.kind,
    result,
    status: "status" in outcome ? outcome.status : undefined,
    error: outcome.kind === "delivered" ? undefined : outcome.error,
    ...(retryAt !== undefined && { retryInMs: retryAt - now() }),
    ms,
  });
}
