/**
 * What an account's ledger object and a `Destination` object say to each other (the contract of
 * docs/architecture.md "Origin protection"). One `take` before an outbox run sends, one `report`
 * after it: never a call per event, so a destination object serves thousands of accounts far
 * below the ~1,000 requests/s one object can take.
 */

/** The outcomes of a run's attempts, for the breaker. */
export interface OutcomeReport {
  /** 2xx answers, and 4xx (the origin answered: a refusal dead-letters its own event, it does not trip the breaker). */
  readonly ok: number;
  /** Destination failures: 5xx, 3xx, timeouts and network errors (408 and 429 are neither: retried, not counted). */
  readonly failed: number;
  /** Failures after the batch's last `ok`, in order: the consecutive-failure count goes on from them. */
  readonly trailingFailed: number;
  /**
   * Set when this account was granted a probe: `ok` or `failed` as its attempt counted; `none`
   * when nothing countable came of it (nothing sent, or a 408/429, or an attempt that could not
   * be signed): the probe is handed on at once, the interval not doubled.
   */
  readonly probe?: "ok" | "failed" | "none";
  /** The last failure, for the breaker's history: status, or the error text (never a body). */
  readonly lastStatus?: number;
  readonly lastError?: string;
  /** Tokens of the last grant not used (sent back to the bucket). */
  readonly unused?: number;
}

export interface TakeRequest {
  /** The destination's id (src/destinations.ts); the object reads its URL and settings from the configuration. */
  readonly destination: string;
  /** The ledger object's name (src/object-names.ts `accountObjectName`): how the destination wakes it. */
  readonly account: string;
  readonly source: string;
  /** How many events it would send now (at most TAKE_MAX). */
  readonly want: number;
}

export interface ReportRequest {
  readonly destination: string;
  readonly account: string;
  readonly source: string;
  readonly report: OutcomeReport;
}

export const TAKE_MAX = 50;

/**
 * A grant is good for this long after the account receives it: a run stops sending from it then
 * and gives the rest back in its report. Without it a run could spend tokens granted long before
 * (a run lasts up to 20 s), and the origin would see more than the ceiling's bound in a window.
 */
export const GRANT_TTL_MS = 1_000;

/** The answer to `take`. */
export type Grant =
  /** Send up to `count` events now (a probe: exactly one, then report at once). */
  | { readonly kind: "send"; readonly count: number; readonly probe: boolean }
  /**
   * Send nothing. `open`: the breaker is open (the destination wakes the account when it closes,
   * or to probe); `paused`: its source is paused (woken on resume); `ceiling`: no tokens now.
   * The account sets its alarm no later than `recheckAt` whatever happens (a lost wake-up
   * delays it, never strands it).
   */
  | { readonly kind: "held"; readonly reason: "open" | "paused" | "ceiling"; readonly recheckAt: number };

export type BreakerState = "closed" | "open" | "half_open";

/** One transition, kept in the destination's history (newest first in `DestinationStatus`). */
export interface BreakerTransition {
  readonly at: number;
  readonly from: BreakerState;
  readonly to: BreakerState;
  /** Why: "failure_rate 83% of 12 in 300 s", "20 consecutive failures", "probe failed: HTTP 503", "probe succeeded". */
  readonly reason: string;
}

/** What the admin API and the console show of a destination. */
export interface DestinationStatus {
  readonly id: string;
  readonly state: BreakerState;
  /** In the current window. */
  readonly attempts: number;
  readonly failures: number;
  readonly consecutiveFailures: number;
  readonly openedAt: number | null;
  readonly nextProbeAt: number | null;
  readonly probeIntervalMs: number | null;
  readonly lastError: string | null;
  readonly lastStatus: number | null;
  /** Accounts waiting for this destination (open breaker or a paused source). */
  readonly waiting: number;
  readonly pausedSources: readonly { readonly source: string; readonly at: number; readonly by: string }[];
  /** The ceiling now (ramping after a close) and as configured, per second. */
  readonly ratePerSecond: number;
  readonly maxPerSecond: number;
  readonly history: readonly BreakerTransition[];
}
