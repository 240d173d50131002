/**
 * What the operators' index says about an event beyond its state (src/index-db/describe.ts):
 * amount, currency and the provider's references, read from the CloudEvent the ledger stores,
 * for each provider's fixtures as ingress normalizes them; the batch statements
 * (src/index-db/write.ts) against the real local D1, with values of any length; the request
 * headers kept (src/request-headers.ts); INDEX_MODE's validation.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadConfig, parseConfig } from "../src/config";
import { describeEvent, MAX_REFS, REF_CHARS } from "../src/index-db/describe";
import { type IndexEvent, indexStatements, REASON_CHARS } from "../src/index-db/write";
import { eventBody, parseVerified } from "../src/ingress";
import cabitalMatched from "../src/providers/cabital/fixtures/matched.json?raw";
import coinsBalance from "../src/providers/coins/fixtures/balance-change.json?raw";
import coinsCashIn from "../src/providers/coins/fixtures/cash-in-success.json?raw";
import cregisPayment from "../src/providers/cregis/fixtures/payment-paid.json?raw";
import cregisPayout from "../src/providers/cregis/fixtures/payout-succeeded.json?raw";
import cybavoDeposit from "../src/providers/cybavo/fixtures/deposit-succeeded.json?raw";
import killbRamp from "../src/providers/killb/fixtures/ramp-completed.json?raw";
import type { SignedFields } from "../src/providers/provider";
import invoicePaid from "../src/providers/standard-webhooks/fixtures/invoice-paid.json?raw";
import { KEPT_HEADERS, keptHeaders } from "../src/request-headers";
import { utf8 } from "../src/verify/crypto";
import { indexedRefs } from "./support/index-db";

/** The CloudEvent ingress would store for `text` on `source`. */
function stored(sourceName: string, text: string, signed?: SignedFields): string {
  const loaded = loadConfig(env);
  if (!loaded.ok) throw new Error(loaded.errors.join("; "));
  const source = loaded.config.sources.get(sourceName)!;
  const parsed = parseVerified(source, utf8(text), signed);
  if (parsed.kind !== "event") throw new Error(`${sourceName}: ${parsed.reason}`);
  return eventBody(source, "evt_00000000000000000000000000000000", parsed.normalized, 0, parsed.text);
}

describe("amount, currency and references from each provider's events", () => {
  it.each([
    [
      "cybavo deposit (serial, txid)",
      stored("cybavo", cybavoDeposit),
      { amount: "0.5", currency: "ETH", refs: ["0xc99a4941f87364c9679fe834f99bc12cbacfc577dedf4f34c4fd8833a68a0b00", "90000000619"] },
    ],
    [
      "cregis payment (cregis_id, order_id, tx_id; the order's amount)",
      stored("cregis", cregisPayment),
      {
        amount: "100",
        currency: "HKD",
        refs: [
          "0x0502f2d3b1c4a5968778695a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5",
          "c9231e604da54469a735af3f449c880f",
          "po20240703132452000",
        ],
      },
    ],
    [
      "cregis payout (cid read as its digits, third_party_id, txid)",
      stored("cregis", cregisPayout),
      {
        amount: "1.1",
        currency: "TRX",
        refs: ["1391751691788288", "1e0fb3a0a9454ad8928d26b592e8b3c7", "6dd05b0972075542219a3fcc116c58feaf9480f1f698cc46c4367ded83955cfd"],
      },
    ],
    [
      "killb ramp (event id, ramp id, transfer proof; what the user pays in)",
      stored("killb", killbRamp),
      {
        amount: "100000",
        currency: "COP",
        refs: [
          "0x8e2b1f4645ebc8b6f658c860980567a63d283a42735be7401a7950306a2539b0",
          "be4d353b-00a2-4309-9ef1-594f37dfb1fd",
          "evt_b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e",
        ],
      },
    ],
    [
      "coins cash-in (internal and external order ids)",
      stored("coins-hmac", coinsCashIn),
      { amount: "1500.00", currency: "PHP", refs: ["123", "321"] },
    ],
    [
      "coins balance change (the change, its clientTxId)",
      stored("coins-hmac", coinsBalance),
      { amount: "-10", currency: "PHP", refs: ["abc001"] },
    ],
    [
      "standard webhooks (the webhook-id)",
      stored("standard-webhooks", invoicePaid, { "webhook-id": "msg_2Kx9" }),
      { amount: null, currency: null, refs: ["msg_2Kx9"] },
    ],
    [
      "cabital link (the merchant's user reference)",
      stored("cabital", cabitalMatched),
      { amount: null, currency: null, refs: ["fce4fd45-7dd7-4d4c-b06c-e17ff12f3e30"] },
    ],
  ])("%s", (_label, body, expected) => {
    expect(describeEvent(body)).toEqual(expected);
  });

  it("an event without a body (pruned, erased, quarantined) has none", () => {
    expect(describeEvent(null)).toEqual({ amount: null, currency: null, refs: [] });
  });

  it("references: each at most REF_CHARS characters (a longer one is left out, not cut), without repeats, at most MAX_REFS", () => {
    const long = "x".repeat(REF_CHARS + 1);
    const body = JSON.stringify({
      provider: "cybavo",
      data: { status: "succeeded", orderId: long, txHash: "same", reference: "same", payload: { serial: 7, txid: "same" } },
    });
    expect(describeEvent(body).refs).toEqual(["7", "same"]);
    expect(MAX_REFS).toBe(16);
  });
});

const event = (overrides: Partial<IndexEvent>): IndexEvent => ({
  id: `evt_${crypto.randomUUID().replaceAll("-", "")}`,
  source: "describe-test",
  account: "a",
  seq: 1,
  type: "deposit.updated",
  status: "dead",
  amount: null,
  currency: null,
  refs: [],
  receivedAt: 1,
  deliveredAt: null,
  attempts: 1,
  lastStatus: 410,
  nextAttemptAt: null,
  reason: "HTTP 410",
  ...overrides,
});

async function write(events: IndexEvent[]): Promise<void> {
  const statements = indexStatements(events, [], undefined, Date.now());
  await env.INDEX_DB.batch(statements.map((s) => env.INDEX_DB.prepare(s.query).bind(...s.params)));
}

describe("the batch against the real D1 database", () => {
  it("property: any account and reason (any script, any length) is written whole; the reason is cut to REASON_CHARS", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: "grapheme", maxLength: 1200 }),
        fc.string({ unit: "binary", maxLength: 2000 }),
        async (account, reason) => {
          const e = event({ account, reason, refs: [`ref-${account.slice(0, 50)}`] });
          await write([e]);
          const row = await env.INDEX_DB.prepare("SELECT account, reason FROM events WHERE id = ?")
            .bind(e.id)
            .first<{ account: string; reason: string }>();
          expect(row?.account).toBe(account);
          const cut = reason.length <= REASON_CHARS ? reason : `${reason.slice(0, REASON_CHARS - 1)}…`;
          expect(row?.reason).toBe(cut);
          expect(await indexedRefs(e.id)).toEqual([`ref-${account.slice(0, 50)}`]);
        },
      ),
      { numRuns: 25 },
    );
  }, 60_000);

  it("sending a row again writes nothing; a change writes the row (and its attention entry) once", async () => {
    const e = event({ status: "pending", attempts: 0, lastStatus: null, reason: null });
    const written = async (events: IndexEvent[]) => {
      const statements = indexStatements(events, [], undefined, Date.now());
      const results = await env.INDEX_DB.batch(statements.map((s) => env.INDEX_DB.prepare(s.query).bind(...s.params)));
      return results.reduce((sum, r) => sum + r.meta.rows_written, 0);
    };
    // New, pending: the row, its `events_by_time` and `events_attention` entries.
    expect(await written([e])).toBe(3);
    expect(await written([e])).toBe(0);
    // A failed attempt, then a dead letter: the row and its `events_attention` entry each time
    // (SQLite rewrites the entry of an index whose column the update sets, changed or not).
    expect(await written([{ ...e, attempts: 1, lastStatus: 503, reason: "HTTP 503" }])).toBe(2);
    expect(await written([{ ...e, status: "dead", attempts: 2, lastStatus: 410, reason: "HTTP 410" }])).toBe(2);
    // Delivered: the row (it leaves `events_attention`: an entry deleted, which D1 does not count).
    expect(await written([{ ...e, status: "delivered", attempts: 3, lastStatus: 200, reason: null, deliveredAt: 2 }])).toBe(1);
  });
});

describe("request headers kept with an event", () => {
  it("only the allow-list, whatever else comes; values cut; the whole within 512 bytes of JSON", () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
          fc.string({ maxLength: 400 }).map((v) => v.replace(/[^\x20-\x7e]/g, "")),
          {
            maxKeys: 20,
          },
        ),
        fc.subarray([...KEPT_HEADERS]),
        (others, present) => {
          const headers = new Headers({ authorization: "Bearer secret", cookie: "a=b", "x-checksum": "c", "x-api-key": "k", ...others });
          for (const name of present) headers.set(name, `value of ${name}`.repeat(20));
          const kept = keptHeaders(headers) ?? {};
          for (const name of Object.keys(kept)) expect(KEPT_HEADERS as readonly string[]).toContain(name);
          for (const value of Object.values(kept)) expect(value.length).toBeLessThanOrEqual(200);
          expect(utf8(JSON.stringify(kept)).byteLength).toBeLessThanOrEqual(512);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("INDEX_MODE", () => {
  it("all (default), attention or off; anything else is a configuration error naming it", () => {
    const base = { ...env } as unknown as Record<string, unknown>;
    expect(parseConfig(base)).toMatchObject({ ok: true, config: { indexMode: "all", indexPendingAfterSeconds: 900 } });
    expect(parseConfig({ ...base, INDEX_MODE: "attention" })).toMatchObject({ ok: true, config: { indexMode: "attention" } });
    expect(parseConfig({ ...base, INDEX_MODE: "off" })).toMatchObject({ ok: true, config: { indexMode: "off" } });
    const wrong = parseConfig({ ...base, INDEX_MODE: "some" });
    expect(wrong.ok ? [] : wrong.errors).toEqual(["INDEX_MODE: must be one of all, attention, off"]);
  });
});
