/**
 * The admin API's answers as the console reads them (the contract: docs/operations.md and
 * /admin/openapi.json). Every string in them may come from a provider's callback or a client's
 * request, so the views render them only as text.
 */

export type Status = "pending" | "delivered" | "dead" | "quarantined" | "reprocessed";
export const STATUSES: readonly Status[] = ["pending", "delivered", "dead", "quarantined", "reprocessed"];

export interface Session {
  actor: string;
  role: "admin" | "read";
  expiresAt: string;
}

/** One event in the operators' index (GET /admin/events). */
export interface IndexRow {
  id: string;
  source: string;
  account: string;
  seq: number;
  type: string | null;
  status: string;
  amount: string | null;
  currency: string | null;
  refs: string[];
  receivedAt: string;
  deliveredAt: string | null;
  nextAttemptAt: string | null;
  attempts: number;
  lastStatus: number | null;
  reason: string | null;
  indexedAt: string | null;
}

export interface EventPage {
  events: IndexRow[];
  next?: string;
}

export interface Attempt {
  attempt: number;
  at: string;
  outcome: string;
  status: number | null;
  error: string | null;
  ms: number | null;
}

/** GET /admin/sources/:source/accounts/:account/events/:id */
export interface EventDetail {
  id: string;
  seq: number;
  source: string;
  idempotency_key: string;
  type: string | null;
  state: string;
  reason: string | null;
  attempts: Attempt[];
  last_status: number | null;
  receivedAt: string;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  event: CloudEvent | null;
  headers?: Record<string, string> | null;
  erasedAt?: string | null;
}

export interface CloudEvent {
  data?: { payload?: unknown } & Record<string, unknown>;
  [key: string]: unknown;
}

/** A dead letter or quarantined callback (GET /admin/dead-letters, /admin/quarantine). */
export interface Entry {
  source: string;
  account: string;
  id: string;
  reason: string | null;
  at: number;
}

export interface EntryPage {
  entries: Entry[];
  cursor?: string;
}

/** GET /admin/sources/:source/quarantine/:id */
export interface QuarantinedDetail {
  id: string;
  source: string;
  state: string;
  reason: string | null;
  receivedAt: string;
  rawBase64: string | null;
  signed: Record<string, string> | null;
}

export interface ReprocessResult {
  id: string;
  outcome: string;
  eventId?: string;
  account?: string;
  reason?: string;
}

export interface Account {
  source: string;
  account: string;
  pending: number;
  oldestPendingAt: string | null;
  lastAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  consecutiveFailures: number;
  lagMs: number | null;
  updatedAt: string | null;
}

export interface IndexState {
  mode: "all" | "attention";
  retentionDays: number;
  lagMs: number | null;
  updatedAt: string | null;
}

export const COUNTERS = ["accepted", "duplicate", "rejected", "quarantined", "delivered", "failed", "dead"] as const;
export type Counter = (typeof COUNTERS)[number];

export type Bucket = { at: number | string } & Record<Counter, number>;

export interface Overview {
  bucketMs: number;
  sources: Record<string, { series: Bucket[]; latencyMs: { p50: number; p95: number } | null }>;
}

export interface Rejection {
  source: string;
  at: number | string;
  status: number;
  cause: string;
  bytes: number | null;
  ip: string | null;
}

export interface Job {
  id: string;
  kind: string;
  filter: Record<string, string>;
  state: "running" | "done" | "cancelled" | "failed";
  total: number;
  done: number;
  skipped: number;
  failed: number;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  /** Why a job failed (state `failed`). */
  error?: string;
}

export interface Health {
  status: string;
  sources?: Record<string, { provider: string; secrets: number }>;
}

export type BreakerState = "closed" | "open" | "half_open";

/** A destination (GET /admin/destinations): an origin URL (shown without credentials) and its breaker. */
export interface Destination {
  id: string;
  url: string;
  sources: string[];
  state: BreakerState;
  windowSeconds: number;
  attempts: number;
  failures: number;
  consecutiveFailures: number;
  openedAt: string | null;
  nextProbeAt: string | null;
  probeIntervalMs: number | null;
  lastError: string | null;
  lastStatus: number | null;
  waiting: number;
  pausedSources: { source: string; at: string; by: string }[];
  ratePerSecond: number;
  maxPerSecond: number;
}

export interface BreakerTransition {
  at: string;
  from: BreakerState;
  to: BreakerState;
  reason: string;
}

/** GET /admin/destinations/:id */
export interface DestinationDetail extends Destination {
  history: BreakerTransition[];
}

/** GET /admin/sources/:source/accounts/:account/delivery */
export interface AccountDelivery {
  source: string;
  account: string;
  paused: boolean;
  pausedAt: string | null;
  pausedBy: string | null;
  held: "open" | "paused" | "ceiling" | null;
  heldSince: string | null;
}

/** The answer to a pause or a resume. */
export interface PauseAnswer {
  paused: boolean;
  changed: boolean;
}
