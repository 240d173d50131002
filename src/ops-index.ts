/**
 * The operators' cross-account index of dead letters and quarantined events, in Workers KV
 * (binding OPS_INDEX). A key is written when an event dead-letters or is quarantined, and
 * deleted when it is redelivered or re-processed, so listing them never scans every Durable
 * Object. KV is eventually consistent: a new entry can take up to ~60 s to show in a list made
 * elsewhere. The Durable Object row stays the truth; the index only says where to look, and
 * the ledger's alarm keeps it in step (src/ledger/AccountLedger.ts `syncIndex`).
 *
 * KV refuses keys over 512 bytes and metadata over 1024 bytes (both UTF-8). Account keys and
 * quarantine reasons come from providers, so both limits are met here by construction: long
 * key parts are replaced by their hash and the reason is cut to the bytes left.
 */
import { digest, toHex, utf8 } from "./verify/crypto";

export type IndexKind = "dead" | "quarantine";

export interface IndexEntry {
  readonly source: string;
  readonly account: string;
  readonly id: string;
  readonly reason: string;
  readonly at: number;
}

/** Metadata of an entry whose account is too long for it: the entry is the key's value instead. */
interface Pointer {
  readonly id: string;
  readonly at: number;
  readonly inValue: true;
}

export const KV_KEY_LIMIT = 512;
export const KV_METADATA_LIMIT = 1024;
/** Source names longer than this are hashed in keys (and in the list prefix, the same way). */
const SOURCE_PART_LIMIT = 128;
/** Reasons are cut to this many characters even when more would fit: a list is for scanning. */
const REASON_CHARS = 300;
const ELLIPSIS = "…";

const byteLength = (text: string) => utf8(text).byteLength;

/** `#` + SHA-256 hex: stands for a part too long to keep. */
async function hashed(part: string): Promise<string> {
  return `#${toHex(await digest("SHA-256", utf8(part)))}`;
}

async function sourcePart(source: string): Promise<string> {
  return byteLength(source) <= SOURCE_PART_LIMIT ? source : hashed(source);
}

/**
 * `kind:source:account:id`, verbatim whenever that fits in 512 bytes (so keys written before
 * this rule keep their name and are still deleted), else with the account and then the id
 * hashed. The event id is unique per (source, account, key), so a hashed account can never
 * make two entries share a key.
 */
export async function indexKey(kind: IndexKind, entry: Pick<IndexEntry, "source" | "account" | "id">): Promise<string> {
  const source = await sourcePart(entry.source);
  const plain = `${kind}:${source}:${entry.account}:${entry.id}`;
  if (byteLength(plain) <= KV_KEY_LIMIT) return plain;
  const account = await hashed(entry.account);
  const withAccountHashed = `${kind}:${source}:${account}:${entry.id}`;
  if (byteLength(withAccountHashed) <= KV_KEY_LIMIT) return withAccountHashed;
  return `${kind}:${source}:${account}:${await hashed(entry.id)}`;
}

/** Bytes a string takes inside JSON text, without its quotes (escapes included). */
function jsonBytes(text: string): number {
  return byteLength(JSON.stringify(text)) - 2;
}

/**
 * Cuts `text` to at most `maxBytes` of JSON-encoded UTF-8, at a code point boundary (never
 * half of a surrogate pair or of a multi-byte character), ending in `…` when cut.
 */
export function truncateForJson(text: string, maxBytes: number, maxChars = Number.POSITIVE_INFINITY): string {
  const chars = [...text]; // code points: a surrogate pair stays whole
  if (chars.length <= maxChars && jsonBytes(text) <= maxBytes) return text;
  const room = maxBytes - jsonBytes(ELLIPSIS);
  if (room < 0) return "";
  let used = 0;
  let kept = "";
  for (const char of chars.slice(0, Math.max(0, maxChars - 1))) {
    const size = jsonBytes(char);
    if (used + size > room) break;
    used += size;
    kept += char;
  }
  return kept + ELLIPSIS;
}

/**
 * The entry as it is stored: in the key's metadata, reason cut to what fits in 1024 bytes, so a
 * list needs no further reads; or, when even an empty reason does not fit (a very long
 * account key), as the key's JSON value with a pointer in the metadata.
 */
export function storedEntry(entry: IndexEntry): { metadata: IndexEntry | Pointer; value: string } {
  const bare = byteLength(JSON.stringify({ ...entry, reason: "" }));
  const room = KV_METADATA_LIMIT - bare;
  if (room >= 0) return { metadata: { ...entry, reason: truncateForJson(entry.reason, room, REASON_CHARS) }, value: "" };
  return { metadata: { id: entry.id, at: entry.at, inValue: true }, value: JSON.stringify(entry) };
}

export async function addToIndex(kv: KVNamespace, kind: IndexKind, entry: IndexEntry): Promise<void> {
  const { metadata, value } = storedEntry(entry);
  await kv.put(await indexKey(kind, entry), value, { metadata });
}

export async function removeFromIndex(
  kv: KVNamespace,
  kind: IndexKind,
  entry: Pick<IndexEntry, "source" | "account" | "id">,
): Promise<void> {
  await kv.delete(await indexKey(kind, entry));
}

export async function listIndex(
  kv: KVNamespace,
  kind: IndexKind,
  source: string | undefined,
  cursor: string | undefined,
  limit: number,
): Promise<{ entries: IndexEntry[]; cursor?: string }> {
  const page = await kv.list<IndexEntry | Pointer>({
    prefix: source === undefined ? `${kind}:` : `${kind}:${await sourcePart(source)}:`,
    limit,
    ...(cursor && { cursor }),
  });
  const entries = await Promise.all(
    page.keys.map(async (key): Promise<IndexEntry | undefined> => {
      const metadata = key.metadata;
      if (metadata === undefined) return undefined;
      if (!("inValue" in metadata)) return metadata;
      // Rare: an account too long for the metadata. One read for this entry only.
      return (await kv.get<IndexEntry>(key.name, "json")) ?? undefined;
    }),
  );
  const found = entries.filter((entry): entry is IndexEntry => entry !== undefined);
  return page.list_complete ? { entries: found } : { entries: found, cursor: page.cursor };
}
