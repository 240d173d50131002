/**
 * Identity from signed content only (issue 10, items 1-3), as regressions against the real
 * Worker in workerd: what a signature ignores never makes a new event, what tells two money
 * movements apart always does, ids are read exactly, and a verified body that cannot be read,
 * validated or keyed is quarantined (never dropped, collapsed or turned into a 5xx).
 * The properties per provider are in test/identity-properties.test.ts.
 */
import { describe, expect, it } from "vitest";
import { eventId, QUARANTINE_ACCOUNT } from "../src/ingress";
import { digest, hmacSha256, toHex, utf8 } from "../src/verify/crypto";
import { cybavoCallback, cybavoChecksum, drain, ledger, originEvents, post, secrets, uniqueAccount } from "./support/gateway";
import { killbSignature } from "./support/kits";

/** Cregis' signature over [key, signed text] pairs, written from the provider's formula. */
async function cregisSign(pairs: [string, string][], apiKey = secrets.CREGIS_API_KEY): Promise<string> {
  const text = pairs
    .filter(([, value]) => value !== "")
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => k + v)
    .join("");
  return toHex(await digest("MD5", utf8(apiKey + text)));
}

/** A Cregis body from raw member texts (any order, any spelling), signed over `signed`. */
async function cregisRaw(members: string[], signed: [string, string][]): Promise<string> {
  return `{${[...members, `"sign":"${await cregisSign(signed)}"`].join(",")}}`;
}

/** The payout-succeeded fixture's members for one pid, as [key, JSON text, signed text]. */
function payout(pid: number, status = 6): [string, string, string][] {
  return [
    ["pid", String(pid), String(pid)],
    ["chain_id", '"195"', "195"],
    ["token_id", '"195"', "195"],
    ["currency", '"TRX"', "TRX"],
    ["cid", "1391751691788288", "1391751691788288"],
    ["amount", '"1.1"', "1.1"],
    ["address", '"TXsmKpEuW7qWnXzJLGP9eDLvWPR2GRn1FS"', "TXsmKpEuW7qWnXzJLGP9eDLvWPR2GRn1FS"],
    ["third_party_id", `"tp-${pid}"`, `tp-${pid}`],
    ["status", String(status), String(status)],
    ["nonce", '"ubqso3"', "ubqso3"],
    ["timestamp", "1687850657960", "1687850657960"],
  ];
}

const signedPairs = (members: [string, string, string][]) => members.map(([k, , s]) => [k, s] as [string, string]);
const memberTexts = (members: [string, string, string][]) => members.map(([k, json]) => `"${k}":${json}`);

async function coinsHmac(body: string, now = Date.now()): Promise<Record<string, string>> {
  const timestamp = String(now);
  const sign = toHex(
    await hmacSha256(utf8(secrets.COINS_HMAC_SECRET), utf8(`${timestamp}https://gateway.test/webhooks/coins-hmac${body}`)),
  );
  return { "X-Merchant-Key": "merchant", "X-Timestamp": timestamp, "X-Merchant-Sign": sign };
}

/** The source's quarantined callbacks whose raw bytes contain `marker`, oldest first. */
async function quarantined(source: string, marker: string): Promise<{ id: string; reason: string }[]> {
  const rows = await ledger(source, QUARANTINE_ACCOUNT).quarantined(500);
  return rows.filter((r) => new TextDecoder().decode(r.raw).includes(marker)).map((r) => ({ id: r.id, reason: r.reason }));
}

describe("Cregis: what the signature ignores never makes a new event", () => {
  it("a replay with added empty from/to addresses, null members, reordered members, whitespace, escapes or a number sent as a string is the same event", async () => {
    const pid = uniqueAccount();
    const members = payout(pid);
    const signed = signedPairs(members);
    const texts = memberTexts(members);
    const variants = [
      texts,
      // "" and null are left out of the signature: before the fix these made it a withdrawal.
      [...texts, '"from_address":""', '"to_address":""'],
      [...texts, '"remark":null', '"memo":""'],
      [...texts].reverse(),
      texts.map((t) => t.replace(":", " :\n ")),
      texts.map((t) => t.replace('"TRX"', '"\\u0054RX"')),
      texts.map((t) => (t.startsWith('"status"') ? '"status":"6"' : t)),
    ];
    for (const variant of variants) {
      const response = await post("cregis", await cregisRaw(variant, signed));
      expect(response.status).toBe(200);
      expect(await response.text()).toBe("success");
    }
    await drain("cregis", String(pid));
    const received = await originEvents(String(pid));
    expect(received.map((e) => e.json.type)).toEqual(["withdrawal.updated"]);
    expect(received[0]?.id).toBe(await eventId("cregis", String(pid), `payout:${pid}:1391751691788288:6`));
    expect(await quarantined("cregis", `tp-${pid}`)).toEqual([]);
  });

  it("canonical-json data: 1e999 and null sign alike and are one event", async () => {
    const pid = uniqueAccount();
    const data = (refund: string) =>
      `{"cregis_id":"po-${pid}","order_id":"o-1","order_amount":"100","order_currency":"HKD","refund_id":${refund},"status":"paid"}`;
    // The canonical JSON Cregis signs: keys sorted, numbers re-printed (1e999 → Infinity → null).
    const canonical = `{"cregis_id":"po-${pid}","order_amount":"100","order_currency":"HKD","order_id":"o-1","refund_id":null,"status":"paid"}`;
    const signed: [string, string][] = [
      ["event_name", "order"],
      ["event_type", "paid"],
      ["pid", String(pid)],
      ["nonce", "abc123"],
      ["timestamp", "1719993183400"],
      ["data", canonical],
    ];
    const envelope = (d: string) => [
      `"event_name":"order"`,
      `"event_type":"paid"`,
      `"pid":${pid}`,
      `"nonce":"abc123"`,
      `"timestamp":1719993183400`,
      `"data":${d}`,
    ];
    for (const refund of ["null", "1e999"]) {
      const response = await post("cregis-nested", await cregisRaw(envelope(data(refund)), signed));
      expect(response.status).toBe(200);
    }
    await drain("cregis-nested", String(pid));
    expect((await originEvents(String(pid))).map((e) => e.json.type)).toEqual(["payment.updated"]);
  });

  it("payment refunds with ids above 2^53 that differ in the last digit are two events", async () => {
    const pid = uniqueAccount();
    for (const refund of ["9007199254740993", "9007199254740992"]) {
      const data = `{"cregis_id":"po-${pid}","order_id":"o-2","refund_id":${refund},"refund_status":"done","status":"refunded"}`;
      const signed: [string, string][] = [
        ["event_name", "order"],
        ["event_type", "refunded"],
        ["pid", String(pid)],
        ["nonce", "abc123"],
        ["timestamp", "1719993183400"],
        ["data", data],
      ];
      const body = await cregisRaw(
        [
          `"event_name":"order"`,
          `"event_type":"refunded"`,
          `"pid":${pid}`,
          `"nonce":"abc123"`,
          `"timestamp":1719993183400`,
          `"data":${JSON.stringify(data)}`,
        ],
        signed,
      );
      expect((await post("cregis", body)).status).toBe(200);
    }
    await drain("cregis", String(pid));
    expect(await originEvents(String(pid))).toHaveLength(2);
  });

  it("a re-split of key and value (same signature: Cregis signs key+value without a separator) is quarantined once, never a second or altered event", async () => {
    const pid = uniqueAccount();
    // An order deposit without cid is keyed by third_party_id; memo follows currency in signing order.
    const members: [string, string, string][] = [
      ["pid", String(pid), String(pid)],
      ["chain_id", '"195"', "195"],
      ["token_id", '"195"', "195"],
      ["currency", '"TRX"', "TRX"],
      ["memo", '"abc"', "abc"],
      ["amount", '"10"', "10"],
      ["address", '"TXsmKpEuW7qWnXzJLGP9eDLvWPR2GRn1FS"', "TXsmKpEuW7qWnXzJLGP9eDLvWPR2GRn1FS"],
      ["real_amount", '"10"', "10"],
      ["third_party_id", `"subscription-${pid}"`, `subscription-${pid}`],
      ["status", "2", "2"],
      ["nonce", '"z9y8x7"', "z9y8x7"],
      ["timestamp", "1687851000000", "1687851000000"],
    ];
    const sign = await cregisSign(signedPairs(members));
    const genuine = memberTexts(members);
    const resplitKey = genuine.map((t) => (t.startsWith('"third_party_id"') ? `"third_party_id":"subscrip","ti":"on-${pid}"` : t));
    const resplitCurrency = genuine.map((t) =>
      t.startsWith('"currency"') ? '"currency":"TRXm"' : t.startsWith('"memo"') ? '"emo":"abc"' : t,
    );
    for (const variant of [resplitKey, resplitCurrency, genuine]) {
      const body = `{${[...variant, `"sign":"${sign}"`].join(",")}}`;
      expect((await post("cregis", body)).status).toBe(200);
    }
    await drain("cregis", String(pid));
    const received = await originEvents(String(pid));
    expect(received.map((e) => [e.json.type, (e.json.data.amount as { currency: string }).currency])).toEqual([["deposit.updated", "TRX"]]);
    expect((await quarantined("cregis", `"pid":${pid}`)).map((r) => r.reason)).toEqual(['unknown signed field "ti"']);
  });

  it("signature-equivalent variants of an unreadable callback are one quarantine entry", async () => {
    const pid = uniqueAccount();
    const members = payout(pid, 77);
    const signed = signedPairs(members);
    for (const variant of [memberTexts(members), [...memberTexts(members)].reverse(), [...memberTexts(members), '"memo":null']]) {
      expect((await post("cregis", await cregisRaw(variant, signed))).status).toBe(200);
    }
    expect((await quarantined("cregis", `tp-${pid}`)).map((r) => r.reason)).toEqual(["unmapped: payout status 77"]);
  });
});

describe("CYBAVO with per-wallet secrets: one wallet's secret can never touch another wallet's events", () => {
  it("a callback signed with the source-wide secret for another wallet, sent twice with wallet 7's next serial, neither suppresses nor shares an id with wallet 7's callback", async () => {
    const serial = uniqueAccount();
    const otherWallet = uniqueAccount();
    const forged = JSON.stringify(cybavoCallback({ wallet_id: otherWallet, serial }));
    for (let i = 0; i < 2; i++) {
      const r = await post("cybavo-wallets", forged, { "X-CHECKSUM": await cybavoChecksum(forged, secrets.CYBAVO_API_SECRET) });
      expect(r.status).toBe(200);
    }
    const genuine = JSON.stringify(cybavoCallback({ wallet_id: 7, serial }));
    const r = await post("cybavo-wallets", genuine, { "X-CHECKSUM": await cybavoChecksum(genuine, secrets.CYBAVO_WALLET_7_SECRET) });
    expect(r.status).toBe(200);
    await drain("cybavo-wallets", "7");
    await drain("cybavo-wallets", String(otherWallet));
    const genuineId = await eventId("cybavo-wallets", "7", String(serial));
    const forgedId = await eventId("cybavo-wallets", String(otherWallet), String(serial));
    expect(genuineId).not.toBe(forgedId);
    expect((await originEvents("7")).filter((e) => e.id === genuineId)).toHaveLength(1);
    expect((await originEvents(String(otherWallet))).map((e) => e.id)).toEqual([forgedId]);
  });

  it("serial and wallet_id are read as sent: a serial spelled 1e3 is quarantined, not filed as 1000", async () => {
    const wallet = uniqueAccount();
    const body = JSON.stringify(cybavoCallback({ wallet_id: wallet })).replace(/"serial":\d+/, '"serial":1e3');
    expect((await post("cybavo", body, { "X-CHECKSUM": await cybavoChecksum(body) })).status).toBe(200);
    await drain("cybavo", String(wallet));
    expect(await originEvents(String(wallet))).toEqual([]);
    expect((await quarantined("cybavo", `"wallet_id":${wallet}`)).map((r) => r.reason)).toEqual(["unmapped: serial is not an integer"]);
  });
});

describe("Coins: exact ids, every recipient", () => {
  it("a batch transfer to two recipients is two events", async () => {
    const from = uniqueAccount();
    for (const to of [from + 1, from + 2]) {
      const body = JSON.stringify({
        event: "FIAT_BATCH_TRANSFER_NOTIFICATION",
        data: { batchTxId: `batch-${from}`, fromUserId: from, toUserId: to, amount: "10", currency: "PHP", status: "success" },
      });
      expect((await post("coins-hmac", body, await coinsHmac(body))).status).toBe(200);
    }
    await drain("coins-hmac", String(from));
    expect((await originEvents(String(from))).map((e) => e.json.data.toAccount)).toEqual([String(from + 1), String(from + 2)]);
  });

  it("TRANSACTION_STATUS_UPDATE and USER_STATUS_UPDATE ids above 2^53 that differ in the last digit are two events each", async () => {
    const user = uniqueAccount();
    for (const id of ["9007199254740993", "9007199254740992"]) {
      for (const body of [
        `{"event":"TRANSACTION_STATUS_UPDATE","data":{"userId":${user},"orderId":${id},"status":"SUCCESS","amount":"1","currency":"PHP"}}`,
        `{"event":"USER_STATUS_UPDATE","data":{"userId":${user},"kycStatus":"PASSED","requestId":${id}}}`,
      ]) {
        expect((await post("coins-hmac", body, await coinsHmac(body))).status).toBe(200);
      }
    }
    await drain("coins-hmac", String(user));
    expect((await originEvents(String(user))).map((e) => e.json.type).sort()).toEqual([
      "customer.updated",
      "customer.updated",
      "transfer.updated",
      "transfer.updated",
    ]);
  });
});

describe("verified but unreadable: kept, never collapsed, never a 5xx loop", () => {
  it("two distinct Coins bodies with a duplicated key are two quarantine entries with a clear reason, nothing delivered", async () => {
    const user = uniqueAccount();
    for (const order of ["A", "B"]) {
      const body = `{"event":"FIAT_CASH_IN_NOTIFICATION","data":{"internalOrderId":"${order}-${user}","internalOrderId":"x","userId":${user},"status":"SUCCESS"}}`;
      const response = await post("coins-hmac", body, await coinsHmac(body));
      expect(response.status).toBe(200);
      expect(await response.text()).toBe("OK");
    }
    expect((await quarantined("coins-hmac", `-${user}"`)).map((r) => r.reason)).toEqual(["duplicate key", "duplicate key"]);
    await drain("coins-hmac", String(user));
    expect(await originEvents(String(user))).toEqual([]);
    expect(await originEvents("")).toEqual([]);
  });

  it("a signed body nested 20,000 levels deep is acked and quarantined once, not a 503 on every retry", async () => {
    const marker = `deep-${uniqueAccount()}`;
    const body = `{"id":"${marker}","event":"RAMP","action":"UPDATE","data":${"[".repeat(20_000)}${"]".repeat(20_000)}}`;
    for (let i = 0; i < 2; i++) {
      const response = await post("killb", body, { "x-signature-sha256": await killbSignature(body) });
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('{"received":true}');
    }
    expect((await quarantined("killb", marker)).map((r) => r.reason)).toEqual(["nested deeper than 64 levels"]);
  });

  it("a KillB ramp with a value nested 65 levels deep is quarantined, not delivered without its amounts", async () => {
    const user = `u-${uniqueAccount()}`;
    const deep = `${"[".repeat(65)}${"]".repeat(65)}`;
    const body = `{"id":"ramp-${user}","event":"RAMP","action":"UPDATE","attempts":0,"data":{"id":"r-${user}","userId":"${user}","status":"COMPLETED","fromAmount":23.81,"fromCurrency":"USD","extra":${deep}}}`;
    expect((await post("killb", body, { "x-signature-sha256": await killbSignature(body) })).status).toBe(200);
    await drain("killb", user);
    expect(await originEvents(user)).toEqual([]);
    expect((await quarantined("killb", `ramp-${user}`)).map((r) => r.reason)).toEqual(["nested deeper than 64 levels"]);
  });
});
