/**
 * The operators' cross-account index of dead letters and quarantined events, in Workers KV
 * (binding OPS_INDEX). A key is written only when an event dead-letters or is quarantined, and
 * deleted when it is redelivered or re-processed, so listing them never scans every Durable
 * Object. KV is eventually consistent: a new entry can take up to ~60 s to show in a list made
 * elsewhere. The Durable Object row stays the truth; the index only says where to look.
 */

export type IndexKind = "dead" | "quarantine";

export interface IndexEntry {
  readonly source: string;
  readonly account: string;
  readonly id: string;
  readonly reason: string;
  readonly at: number;
}

export function indexKey(kind: IndexKind, entry: Pick<IndexEntry, "source" | "account" | "id">): string {
  return `${kind}:${entry.source}:${entry.account}:${entry.id}`;
}

export async function addToIndex(kv: KVNamespace, kind: IndexKind, entry: IndexEntry): Promise<void> {
  // Everything an operator needs to list is in the metadata, so a list needs no further reads.
  await kv.put(indexKey(kind, entry), "", { metadata: { ...entry, reason: entry.reason.slice(0, 300) } });
}

export async function removeFromIndex(
  kv: KVNamespace,
  kind: IndexKind,
  entry: Pick<IndexEntry, "source" | "account" | "id">,
): Promise<void> {
  await kv.delete(indexKey(kind, entry));
}

export async function listIndex(
  kv: KVNamespace,
  kind: IndexKind,
  source: string | undefined,
  cursor: string | undefined,
  limit: number,
): Promise<{ entries: IndexEntry[]; cursor?: string }> {
  const page = await kv.list<IndexEntry>({
    prefix: source === undefined ? `${kind}:` : `${kind}:${source}:`,
    limit,
    ...(cursor && { cursor }),
  });
  const entries = page.keys.flatMap((key) => (key.metadata ? [key.metadata] : []));
  return page.list_complete ? { entries } : { entries, cursor: page.cursor };
}
