/** What the Worker sends to a ledger object and what it answers (src/ingress.ts, src/admin.ts). */
import type { Replay, SignedFields } from "../providers/provider";
import type { RowUsage } from "./storage";

export interface AcceptInput {
  readonly id: string;
  readonly source: string;
  readonly account: string;
  readonly idempotencyKey: string;
  /** The id 0.1 gave this event; checked only by objects that hold events stored then. */
  readonly legacyId?: string;
  readonly type: string;
  /** The CloudEvent JSON to send. */
  readonly body: string;
  readonly receivedAt: number;
  /** A signed nonce to record; a repeat is refused as a replay. */
  readonly replay?: Replay;
  /** The allow-listed request headers (src/ingress.ts `keptHeaders`), kept with the body for operators. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface QuarantineInput {
  readonly id: string;
  readonly source: string;
  readonly account: string;
  readonly idempotencyKey: string;
  readonly reason: string;
  readonly raw: Uint8Array;
  readonly receivedAt: number;
  readonly replay?: Replay;
  /** What the verifier returned from outside the body (Standard Webhooks' `webhook-id`): kept with the bytes. */
  readonly signed?: SignedFields;
  /** The allow-listed request headers, as for an event. */
  readonly headers?: Readonly<Record<string, string>>;
}

export type ClaimResult = (
  | { stored: true; duplicate: boolean; replayed?: never }
  | { replayed: true; stored?: never; duplicate?: never }
) & {
  /** SQLite rows the object read and wrote since its last report, for the billable-operations counters. */
  usage?: RowUsage;
};

export interface QuarantinedEvent {
  readonly seq: number;
  readonly id: string;
  readonly reason: string;
  readonly receivedAt: number;
  readonly raw: Uint8Array;
  /** The signed fields kept with it; absent when there were none, or for a row stored before they were kept. */
  readonly signed?: SignedFields;
}

/**
 * An account's delivery state (`AccountLedger.delivery()`, shown by the admin API): its own pause,
 * and why it sends nothing now (./hold.ts). `held`: `paused` (this account or its source),
 * `open` (its destination's breaker), `ceiling` (no tokens under the delivery ceiling right now).
 */
export interface AccountDelivery {
  readonly paused: boolean;
  readonly pausedAt: number | null;
  readonly pausedBy: string | null;
  readonly held: "open" | "paused" | "ceiling" | null;
  readonly heldSince: number | null;
}
