/** Time helpers shared by adapters. Provider clocks are data: out-of-range values yield undefined. */

const MAX_DATE_MS = 8.64e15;

/** Unix seconds → RFC 3339; undefined for 0, negatives and values a Date cannot hold. */
export function unixSecondsToIso(seconds: number): string | undefined {
  return unixMillisToIso(seconds * 1000);
}

/** Unix milliseconds (a time the gateway recorded) → RFC 3339: how operator answers show times. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** `isoTime`, null kept as null. */
export function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : isoTime(ms);
}

/** Unix milliseconds → RFC 3339; undefined for 0, negatives and values a Date cannot hold. */
export function unixMillisToIso(ms: number): string | undefined {
  if (!Number.isFinite(ms) || ms <= 0 || ms > MAX_DATE_MS) return undefined;
  return new Date(ms).toISOString();
}
