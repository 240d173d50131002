/**
 * The operators' KV index within KV's limits (keys ≤ 512 bytes, metadata ≤ 1024 bytes, both
 * UTF-8): provider-chosen account keys and quarantine reasons of any length and script are
 * indexed, listed and deleted under the same key. Runs against the real KV binding.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addToIndex,
  type IndexEntry,
  indexKey,
  KV_KEY_LIMIT,
  KV_METADATA_LIMIT,
  listIndex,
  removeFromIndex,
  storedEntry,
  truncateForJson,
} from "../src/ops-index";
import { utf8 } from "../src/verify/crypto";

const bytes = (text: string) => utf8(text).byteLength;
const id = "evt_0123456789abcdef0123456789abcdef";

describe("keys", () => {
  it("keep the plain form whenever it fits (keys written before stay deletable)", async () => {
    expect(await indexKey("dead", { source: "cybavo", account: "123", id })).toBe(`dead:cybavo:123:${id}`);
    const justFits = "a".repeat(KV_KEY_LIMIT - `dead:cybavo::${id}`.length);
    expect(await indexKey("dead", { source: "cybavo", account: justFits, id })).toBe(`dead:cybavo:${justFits}:${id}`);
  });

  it("property: any account, any script, any length → ≤ 512 bytes, the same key every time, distinct events distinct keys", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "grapheme", maxLength: 600 }), fc.nat({ max: 3 }), async (account, repeat) => {
        const long = account.repeat(repeat + 1);
        const key = await indexKey("quarantine", { source: "cybavo", account: long, id });
        expect(bytes(key)).toBeLessThanOrEqual(KV_KEY_LIMIT);
        expect(key.startsWith("quarantine:cybavo:")).toBe(true);
        expect(await indexKey("quarantine", { source: "cybavo", account: long, id })).toBe(key);
        const other = await indexKey("quarantine", { source: "cybavo", account: long, id: id.replace("0123", "3210") });
        expect(other).not.toBe(key);
      }),
      { numRuns: 200 },
    );
  });
});

describe("metadata", () => {
  it("property: any entry's metadata is ≤ 1024 bytes of JSON; a reason is cut at a character boundary, never split", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 1500 }), fc.string({ unit: "grapheme", maxLength: 400 }), (reason, account) => {
        const entry: IndexEntry = { source: "cybavo", account, id, reason, at: 1_700_000_000_000 };
        const { metadata, value } = storedEntry(entry);
        expect(bytes(JSON.stringify(metadata))).toBeLessThanOrEqual(KV_METADATA_LIMIT);
        if ("inValue" in metadata) {
          expect(JSON.parse(value)).toEqual(entry);
          return;
        }
        expect(metadata).toMatchObject({ source: "cybavo", account, id, at: entry.at });
        const cut = metadata.reason;
        if (cut !== reason) {
          expect(cut.endsWith("…")).toBe(true);
          const kept = cut.slice(0, -1);
          expect(reason.startsWith(kept)).toBe(true);
          // Never half of a surrogate pair that the original had whole.
          const last = kept.charCodeAt(kept.length - 1);
          const next = reason.charCodeAt(kept.length);
          expect(last >= 0xd800 && last <= 0xdbff && next >= 0xdc00 && next <= 0xdfff).toBe(false);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("cuts by UTF-8 bytes, not characters", () => {
    // 600 two-byte characters are 1,200 bytes: over KV's limit although only 600 characters.
    expect(bytes(JSON.stringify(truncateForJson("é".repeat(600), 1000)))).toBeLessThanOrEqual(1002);
    expect(truncateForJson("é".repeat(600), 10)).toBe("ééé…"); // 3 × 2 bytes + 3 for "…"
    expect(truncateForJson("😀😀😀", 9)).toBe("😀…");
    expect(truncateForJson("short", 100)).toBe("short");
  });
});

describe("against real KV", () => {
  it("a dead letter with a 600-byte account and a 2,000-byte non-ASCII reason is written, listed whole, and deleted", async () => {
    const account = `ü${"x".repeat(598)}`;
    const entry: IndexEntry = { source: "ops-index-test", account, id, reason: "причина ".repeat(250), at: 1 };
    await addToIndex(env.OPS_INDEX, "dead", entry);
    const listed = await listIndex(env.OPS_INDEX, "dead", "ops-index-test", undefined, 10);
    expect(listed.entries).toHaveLength(1);
    expect(listed.entries[0]).toMatchObject({ source: "ops-index-test", account, id, at: 1 });
    expect(listed.entries[0]!.reason.startsWith("причина причина")).toBe(true);
    await removeFromIndex(env.OPS_INDEX, "dead", entry);
    expect((await listIndex(env.OPS_INDEX, "dead", "ops-index-test", undefined, 10)).entries).toEqual([]);
  });

  it("an account too long for the metadata is listed from the key's value", async () => {
    const account = "a".repeat(1100);
    const entry: IndexEntry = { source: "ops-index-long", account, id, reason: "HTTP 410", at: 2 };
    await addToIndex(env.OPS_INDEX, "dead", entry);
    expect((await listIndex(env.OPS_INDEX, "dead", "ops-index-long", undefined, 10)).entries).toEqual([entry]);
    await removeFromIndex(env.OPS_INDEX, "dead", entry);
    expect((await listIndex(env.OPS_INDEX, "dead", "ops-index-long", undefined, 10)).entries).toEqual([]);
  });
});
