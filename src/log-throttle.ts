/**
 * Lines for outcomes whose volume whoever sends the requests picks (a forged, stale or unsigned
 * request's 401, a 403 from the IP allow-list, a 413, a 404 for a source that does not exist)
 * are written at most once per source and kind per LOG_WINDOW_MS in each isolate; the next line
 * of that source and kind says how many this isolate left out since the last one
 * (`suppressed`). Why: one JSON line per request was about a third of what a forged request
 * costs above the bare Worker (docs/benchmarks.md), and a flood of them would bury every other
 * line. Operators still see each kind within seconds, with its count; the counters count every
 * request (a count left out at the end of a flood is in the counters only). Lines that need a
 * person (a source whose configuration cannot verify) are never held back.
 */

export const LOG_WINDOW_MS = 10_000;

/** `${source}\n${kind}` → the current window's end and what it has left out so far. */
const windows = new Map<string, { until: number; suppressed: number }>();

/**
 * Whether to write this request's line now: undefined to leave it out (counted for the next
 * line), or the number left out before it, to put in the line. `source` must be a configured
 * source's name or a fixed string, never text from the request, so the map stays bounded.
 */
export function throttledLine(source: string, kind: string, now: number): { suppressed: number } | undefined {
  const key = `${source}\n${kind}`;
  const open = windows.get(key);
  if (open !== undefined && open.until > now) {
    open.suppressed++;
    return undefined;
  }
  windows.set(key, { until: now + LOG_WINDOW_MS, suppressed: 0 });
  return { suppressed: open?.suppressed ?? 0 };
}

/**
 * The fields of this request's line, with `suppressed` when some were left out before it, or
 * null when the line is left out (`throttledLine`).
 */
export function throttled<T extends object>(source: string, kind: string, now: number, fields: T): (T & { suppressed?: number }) | null {
  const line = throttledLine(source, kind, now);
  if (line === undefined) return null;
  return line.suppressed > 0 ? { ...fields, suppressed: line.suppressed } : fields;
}

/** Forgets every window (tests, which share one isolate, each expect their first line). */
export function forgetLogWindows(): void {
  windows.clear();
}
