/** Times, durations and amounts as the console shows them. */

/** An RFC 3339 string or Unix ms → `2026-05-01 10:00:00` UTC; `—` when absent or unreadable. */
export function time(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === "") return "—";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** Milliseconds → `850 ms`, `12.3 s`, `4 min`, `2.5 h`, `3 d`. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 86_400_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${(ms / 86_400_000).toFixed(1)} d`;
}

/** How long ago `value` was, as a duration; `—` when absent. */
export function age(value: string | number | null | undefined, now = Date.now()): string {
  if (value === null || value === undefined || value === "") return "—";
  const at = new Date(value).getTime();
  return Number.isNaN(at) ? "—" : duration(Math.max(0, now - at));
}

export function amount(value: string | null, currency: string | null): string {
  if (value === null || value === "") return "";
  return currency ? `${value} ${currency}` : value;
}

/** An RFC 3339 instant → the value of a `datetime-local` input (local time, minutes). */
export function toLocalInput(value: string | undefined): string {
  if (!value) return "";
  const date = new Date(/^\d+$/.test(value) ? Number(value) : value);
  if (Number.isNaN(date.getTime())) return "";
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

/** A `datetime-local` value (local time) → RFC 3339 UTC; undefined when empty. */
export function fromLocalInput(value: string): string | undefined {
  if (value === "") return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** Standard Base64 → text (UTF-8; bytes that are not UTF-8 show as U+FFFD). */
export function base64Text(value: string): string {
  const bytes = Uint8Array.from(atob(value), (c) => c.charCodeAt(0));
  return new TextDecoder("utf-8", { fatal: false }).decode(bytes);
}
