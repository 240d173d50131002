/**
 * The request headers kept with a verified callback, for operators (the event detail): an
 * allow-list, never a deny-list, so a header a provider adds tomorrow (a new signature or key
 * header) is never kept by accident. Never kept: `authorization`, cookies, any signature,
 * checksum, nonce or API-key header. Kept: what says how and from where the callback came.
 *
 * Bounded so the row that holds them always fits: each value cut to VALUE_CHARS characters, and
 * headers taken in the list's order while their JSON stays within MAX_JSON_BYTES (the room
 * src/storage-limits.ts leaves beside a body in its row).
 */

/** The headers kept, in this order. */
export const KEPT_HEADERS = [
  "content-type",
  "content-length",
  "user-agent",
  "cf-ray",
  "cf-ipcountry",
  "cf-connecting-ip",
  "x-forwarded-for",
  "webhook-id",
  "webhook-timestamp",
] as const;

const VALUE_CHARS = 200;
const MAX_JSON_BYTES = 512;

/** The allow-listed headers of a request (lower-case names), or undefined when it carries none of them. */
export function keptHeaders(headers: Headers): Record<string, string> | undefined {
  const kept: Record<string, string> = {};
  let bytes = 2; // {}
  for (const name of KEPT_HEADERS) {
    const value = headers.get(name);
    if (value === null) continue;
    const cut = value.length > VALUE_CHARS ? value.slice(0, VALUE_CHARS) : value;
    // Header values are ISO-8859-1 at most: 2 UTF-8 bytes per character, plus quotes, colon, comma.
    const size = 2 * cut.length + name.length + 6;
    if (bytes + size > MAX_JSON_BYTES) continue;
    bytes += size;
    kept[name] = cut;
  }
  return Object.keys(kept).length === 0 ? undefined : kept;
}
