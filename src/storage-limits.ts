/**
 * What one Durable Object SQLite row can hold, and what follows for the gateway's settings.
 * Cloudflare documents 2 MB (2,000,000 bytes) as the largest string, BLOB or row in a
 * SQLite-backed Durable Object; a bigger write fails with SQLITE_TOOBIG, and a provider would
 * get 503 on every retry of such a callback. Derivation and numbers: docs/configuration.md
 * "Body size and storage".
 */

/** Cloudflare's limit on one SQLite string, BLOB or row in a Durable Object. */
export const SQLITE_ROW_LIMIT_BYTES = 2_000_000;

/**
 * The largest MAX_BODY_BYTES (960 KiB). An event row holds the CloudEvent, which is the payload
 * once plus the normalized fields (each a copy of a payload value, so at most the payload
 * again), plus the envelope and the row's other columns; 2 × 983,040 leaves 33,920 bytes for
 * those. A quarantine row holds the raw body once plus its reason.
 */
export const MAX_BODY_BYTES_LIMIT = 983_040;

/** Room for an event row's other columns (id, source, type, state, numbers) and SQLite's record header. */
export const ROW_COLUMNS_BYTES = 1024;

/** UTF-8 length of a string, counted without encoding it (a lone surrogate is stored as U+FFFD: 3 bytes). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Why a verified event cannot be stored as an event row, or undefined when it fits. `envelope`
 * is its CloudEvent without the payload, `payloadBytes` the size of the body it splices in.
 * Adapters that copy one payload value into several places (the idempotency key, a field, the
 * subject) can pass the limit under any MAX_BODY_BYTES; such an event is quarantined with its
 * raw bytes (which always fit) rather than refused forever.
 */
export function eventRowProblem(envelope: string, payloadBytes: number, idempotencyKey: string): string | undefined {
  // At most 3 UTF-8 bytes per UTF-16 unit: the exact count is needed only near the limit.
  const bound = (envelope.length + idempotencyKey.length) * 3 + payloadBytes + ROW_COLUMNS_BYTES;
  if (bound <= SQLITE_ROW_LIMIT_BYTES) return undefined;
  const bytes = utf8Length(envelope) + payloadBytes + utf8Length(idempotencyKey) + ROW_COLUMNS_BYTES;
  if (bytes <= SQLITE_ROW_LIMIT_BYTES) return undefined;
  return `too large to store as an event: ${bytes} bytes (a ledger row holds at most ${SQLITE_ROW_LIMIT_BYTES})`;
}
