/**
 * The dedupe lookups in front of the ledger (src/isolate-cache.ts): this isolate's memory of ids
 * the ledger confirmed, then KV only while the source is being retried. Inside workerd with the
 * real KV and SQLite-backed Durable Objects; the invariant as a property over the module itself.
 */
import fc from "fast-check";
import { beforeEach, describe, expect, it } from "vitest";
import {
  forgetIsolateCache,
  ISOLATE_CACHE_IDS,
  isolateCacheSize,
  kvWorthReading,
  noteRetry,
  RETRY_WINDOW_MS,
  rememberHere,
  seenHere,
} from "../src/isolate-cache";
import {
  counterDeltas,
  cybavoCallback,
  drain,
  originEvents,
  postCybavo,
  storedEvents,
  uniqueAccount,
  unreachableLedgers,
} from "./support/gateway";

beforeEach(() => forgetIsolateCache());

describe("the invariant: a hit only for an id the ledger confirmed, within its TTL", () => {
  it("property: any sequence of remembers, lookups and clock steps agrees with a model that forgets nothing", () => {
    type Op = { kind: "remember"; id: number; ttl: number } | { kind: "seen"; id: number } | { kind: "tick"; ms: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant("remember" as const), id: fc.nat(40), ttl: fc.integer({ min: 1, max: 5_000 }) }),
      fc.record({ kind: fc.constant("seen" as const), id: fc.nat(60) }),
      fc.record({ kind: fc.constant("tick" as const), ms: fc.nat(3_000) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        forgetIsolateCache();
        let now = 1_000_000;
        const expiry = new Map<string, number>(); // the model: every remember, never evicted
        for (const o of ops) {
          if (o.kind === "tick") now += o.ms;
          else if (o.kind === "remember") {
            rememberHere(`evt_${o.id}`, now, o.ttl);
            expiry.set(`evt_${o.id}`, now + o.ttl);
          } else {
            const hit = seenHere(`evt_${o.id}`, now);
            // Never a hit the model does not allow (an id never remembered, or expired)...
            if (hit) expect((expiry.get(`evt_${o.id}`) ?? 0) > now).toBe(true);
            // ...and, below the size bound, never a miss it does.
            else expect((expiry.get(`evt_${o.id}`) ?? 0) > now).toBe(false);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it("keeps at most ISOLATE_CACHE_IDS ids, dropping the least recently confirmed", () => {
    const now = 1_000_000;
    for (let i = 0; i <= ISOLATE_CACHE_IDS; i++) rememberHere(`evt_${i}`, now, 60_000);
    expect(isolateCacheSize()).toBe(ISOLATE_CACHE_IDS);
    expect(seenHere("evt_0", now)).toBe(false);
    expect(seenHere("evt_1", now)).toBe(true);
    // Confirming an id again makes it the newest: the next eviction takes evt_2, not evt_1.
    rememberHere("evt_1", now, 60_000);
    rememberHere("evt_new", now, 60_000);
    expect(seenHere("evt_1", now)).toBe(true);
    expect(seenHere("evt_2", now)).toBe(false);
  });

  it("a retry makes KV worth reading for that source for RETRY_WINDOW_MS, and for no other source", () => {
    noteRetry("cybavo", 1_000);
    expect(kvWorthReading("cybavo", 1_000 + RETRY_WINDOW_MS - 1)).toBe(true);
    expect(kvWorthReading("cybavo", 1_000 + RETRY_WINDOW_MS)).toBe(false);
    expect(kvWorthReading("killb", 1_000)).toBe(false);
  });
});

describe("through the gateway", () => {
  it("a new event on a source nobody is retrying reads no KV; a retry is answered from memory without the ledger", async () => {
    const wallet = uniqueAccount();
    const callback = cybavoCallback({ wallet_id: wallet });
    const deltas = await counterDeltas("cybavo", async () => {
      expect((await postCybavo("cybavo", callback)).status).toBe(200);
    });
    expect(deltas).toMatchObject({ accepted: 1, do_requests: expect.any(Number) });
    expect(deltas.kv_reads).toBeUndefined();
    // The retry needs neither KV nor the ledger: it is acked with the ledgers unreachable.
    const retry = await postCybavo("cybavo", callback, undefined, {}, unreachableLedgers());
    expect(retry.status).toBe(200);
    expect(await retry.text()).toBe("OK");
    await drain("cybavo", String(wallet));
    expect(await originEvents(String(wallet))).toHaveLength(1);
  });

  it("memory emptied (another isolate): the retry reaches the ledger, which answers duplicate; KV is then read for that source, and a new event still reaches the ledger", async () => {
    const wallet = uniqueAccount();
    const callback = cybavoCallback({ wallet_id: wallet });
    expect((await postCybavo("cybavo", callback)).status).toBe(200);
    forgetIsolateCache();
    const retried = await counterDeltas("cybavo", async () => {
      expect((await postCybavo("cybavo", callback)).status).toBe(200);
    });
    expect(retried).toMatchObject({ duplicate: 1, kv_writes: 1 });
    expect(retried.kv_reads).toBeUndefined();
    // Now the source is being retried: a new event pays a KV read (a miss), then is stored.
    const fresh = cybavoCallback({ wallet_id: wallet });
    const next = await counterDeltas("cybavo", async () => {
      expect((await postCybavo("cybavo", fresh)).status).toBe(200);
    });
    expect(next).toMatchObject({ accepted: 1, kv_reads: 1 });
    await drain("cybavo", String(wallet));
    expect(await storedEvents("cybavo", String(wallet))).toHaveLength(2);
    expect(await originEvents(String(wallet))).toHaveLength(2);
  });
});
