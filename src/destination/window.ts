/**
 * The breaker's view of a destination's recent outcomes (pure): attempts and failures in time
 * buckets over the last BREAKER_WINDOW_SECONDS, and the failures in a row. Only what an
 * `OutcomeReport` counts is here: 408 and 429 are in neither column (the origin asked to slow
 * down, it did not fail), and 4xx are `ok` (the origin answered: one poison event must not stop
 * every account).
 */

export interface WindowSettings {
  readonly windowMs: number;
  /** Opens when failures are at least this percentage of the attempts... */
  readonly failurePercent: number;
  /** ... and the attempts in the window are at least this many. */
  readonly minAttempts: number;
  /** Or when this many attempts in a row failed, whatever the window says. */
  readonly consecutiveFailures: number;
}

export interface WindowBucket {
  /** Start of the bucket (Unix ms, a multiple of the bucket width). */
  readonly start: number;
  readonly ok: number;
  readonly failed: number;
}

export interface OutcomeWindow {
  /** Oldest first; none older than the window. */
  readonly buckets: readonly WindowBucket[];
  /** Failed attempts since the last ok one, across all accounts in report order. */
  readonly consecutive: number;
}

export const EMPTY_WINDOW: OutcomeWindow = { buckets: [], consecutive: 0 };

/** Buckets per window: the window slides in steps of a thirtieth (10 s of the default 300 s). */
const BUCKETS = 30;

export function bucketWidth(settings: WindowSettings): number {
  return Math.max(1000, Math.ceil(settings.windowMs / BUCKETS));
}

/** The buckets that still overlap the window ending at `at`. */
function live(window: OutcomeWindow, at: number, settings: WindowSettings): WindowBucket[] {
  const width = bucketWidth(settings);
  return window.buckets.filter((bucket) => bucket.start + width > at - settings.windowMs);
}

/** Adds one report's outcomes at `at`. */
export function record(
  window: OutcomeWindow,
  at: number,
  outcome: { readonly ok: number; readonly failed: number; readonly trailingFailed: number },
  settings: WindowSettings,
): OutcomeWindow {
  const ok = whole(outcome.ok);
  const failed = whole(outcome.failed);
  // A report cannot have more failures after its last ok than failures.
  const trailing = Math.min(whole(outcome.trailingFailed), failed);
  const buckets = live(window, at, settings);
  const start = at - (at % bucketWidth(settings));
  const last = buckets.at(-1);
  if (last !== undefined && last.start === start) buckets[buckets.length - 1] = { start, ok: last.ok + ok, failed: last.failed + failed };
  else if (ok + failed > 0) buckets.push({ start, ok, failed });
  // Without an ok in the batch its failures continue the run; with one, the run restarts from it.
  const consecutive = ok > 0 ? trailing : window.consecutive + failed;
  return { buckets, consecutive };
}

/** Attempts and failures in the window ending at `at`. */
export function counts(window: OutcomeWindow, at: number, settings: WindowSettings): { attempts: number; failures: number } {
  let attempts = 0;
  let failures = 0;
  for (const bucket of live(window, at, settings)) {
    attempts += bucket.ok + bucket.failed;
    failures += bucket.failed;
  }
  return { attempts, failures };
}

/** Why the breaker must open now, or null when it must not (the rule of docs/operations.md "Origin protection"). */
export function openReason(window: OutcomeWindow, at: number, settings: WindowSettings): string | null {
  if (window.consecutive >= settings.consecutiveFailures) return `${window.consecutive} consecutive failures`;
  const { attempts, failures } = counts(window, at, settings);
  if (attempts >= settings.minAttempts && failures * 100 >= settings.failurePercent * attempts) {
    const percent = Math.floor((failures * 100) / attempts);
    return `failure_rate ${percent}% of ${attempts} in ${Math.round(settings.windowMs / 1000)} s`;
  }
  return null;
}

/** A count from a report: a non-negative integer whatever was sent. */
function whole(n: number): number {
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}
