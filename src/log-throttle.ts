/**
 * Rejected requests (401: forged, stale or unsigned) are logged at most once per source and
 * reason per REJECTION_LOG_WINDOW_MS in each isolate; the next line says how many of that source
 * and reason this isolate left out since the last one (`suppressed`). Why: a forged request is
 * an expected outcome that an attacker chooses the volume of, and one JSON line per request
 * was about a third of what a forged request costs above the bare Worker
 * (docs/benchmarks.md). Operators still see every kind of rejection within seconds, with its
 * count, and the `rejected` counter counts each one. A rejection caused by the source's own
 * configuration is an error for a person and is never held back.
 */

export const REJECTION_LOG_WINDOW_MS = 10_000;

/** `${source}\n${reason}` → the current window's end and what it has left out so far. */
const windows = new Map<string, { until: number; suppressed: number }>();

/**
 * Whether to write this rejection's line now: undefined to leave it out (counted for the next
 * line), or the number left out before it, to put in the line.
 */
export function rejectionLine(source: string, reason: string, now: number): { suppressed: number } | undefined {
  const key = `${source}\n${reason}`;
  const open = windows.get(key);
  if (open !== undefined && open.until > now) {
    open.suppressed++;
    return undefined;
  }
  windows.set(key, { until: now + REJECTION_LOG_WINDOW_MS, suppressed: 0 });
  return { suppressed: open?.suppressed ?? 0 };
}

/** Forgets every window (tests, which share one isolate, each expect their first line). */
export function forgetRejectionWindows(): void {
  windows.clear();
}
