import { describe, expect, it } from "vitest";
import { provider as cregis } from "../../src/providers/cregis";
import { cregisSigningText } from "../../src/providers/cregis/verify";
import { utf8 } from "../../src/verify/crypto";
import { topLevelMembers } from "../../src/verify/json-text";
import { cregisBody, drain, originEvents, post, storedEvents } from "../support/gateway";

describe("Cregis signing text", () => {
  it("reads values from the JSON text: 17-digit integers exact, decimals verbatim, null and '' dropped", () => {
    const text = '{"pid":13825288274165761,"amount":"1.10","remark":"","memo":null,"status":0,"ok":true,"sign":"x"}';
    const members = topLevelMembers(text);
    expect(members).toBeDefined();
    expect(cregisSigningText(members!, { nestedValues: "reject" })).toBe("amount1.10oktruepid13825288274165761status0");
  });

  it("refuses nested objects unless the source opts into canonical JSON; a JSON-string data is verbatim", () => {
    const members = topLevelMembers('{"data":{"b":1,"a":"x"},"event_name":"order"}')!;
    expect(cregisSigningText(members, { nestedValues: "reject" })).toBeUndefined();
    expect(cregisSigningText(members, { nestedValues: "canonical-json" })).toBe('data{"a":"x","b":1}event_nameorder');
    const asString = topLevelMembers('{"data":"{\\"b\\":1}","event_name":"order"}')!;
    expect(cregisSigningText(asString, { nestedValues: "reject" })).toBe('data{"b":1}event_nameorder');
  });

  it("matches the Cregis SDK's nested-data vector (canonical JSON)", async () => {
    // Vector from Cregis' newer SDK tests (signing_test.go), key "fixture-api-key".
    const body =
      '{"data":{"cregis_id":"po-test","order_id":"merchant-test","refund_id":"rf-test","refund_status":1},"event_name":"order","event_type":"refunded","nonce":"abc123","pid":123456789,"timestamp":1719994383015,"sign":"9e2b39ae45341e1d912dda3e31a3dddf"}';
    const request = { body: utf8(body), headers: new Headers(), method: "POST", url: "https://gateway.test/", now: 0 };
    const keys = { secrets: ["fixture-api-key"], named: new Map() };
    expect(await cregis.verify(request, { ...keys, options: { nestedValues: "canonical-json" } })).toEqual({ ok: true });
    expect(await cregis.verify(request, { ...keys, options: { nestedValues: "reject" } })).toMatchObject({ ok: false });
  });

  it("refuses a body with a duplicated key (parsers disagree on which value counts)", async () => {
    const body = await cregisBody([
      ["pid", "1"],
      ["status", "6"],
    ]);
    const duplicated = body.replace('{"pid":1,', '{"pid":1,"pid":2,');
    const request = {
      body: utf8(duplicated),
      headers: new Headers(),
      method: "POST",
      url: "https://gateway.test/",
      now: 0,
    };
    expect(await cregis.verify(request, { secrets: ["k"], named: new Map(), options: { nestedValues: "reject" } })).toMatchObject({
      ok: false,
    });
  });
});

describe("Cregis through the gateway", () => {
  it("verifies a body with a 17-digit integer, amount 1.10, an empty remark and a null field, and keeps them exact", async () => {
    const pid = "13825288274165761"; // > 2^53: JSON.parse would turn it into 13825288274165760
    const body = await cregisBody([
      ["pid", pid],
      ["cid", "13917516917882881"],
      ["chain_id", '"195"'],
      ["token_id", '"195"'],
      ["currency", '"TRX"'],
      ["address", '"TXsmKpEuW7qWnXzJLGP9eDLvWPR2GRn1FS"'],
      ["amount", '"1.10"'],
      ["third_party_id", '"order-1"'],
      ["remark", '""'],
      ["memo", "null"],
      ["status", "6"],
      ["txid", '"6dd05b0972075542219a3fcc116c58feaf9480f1f698cc46c4367ded83955cfd"'],
      ["block_height", '"34527604"'],
      ["block_time", "1686814482000"],
      ["nonce", '"ubqso3"'],
      ["timestamp", "1687850657960"],
    ]);
    const response = await post("cregis", body);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("success");

    await drain("cregis", pid);
    const [event, ...rest] = await originEvents(pid);
    expect(rest).toEqual([]);
    expect(event?.json).toMatchObject({
      type: "withdrawal.updated",
      subject: pid,
      provider: "cregis",
      data: { status: "succeeded", providerStatus: "6", amount: { value: "1.10", currency: "TRX" }, orderId: "order-1" },
    });
    // The payload is the provider's JSON text, unchanged: the 17-digit ids keep every digit.
    expect(event?.body).toContain(`"payload":${body}`);
    const [stored] = await storedEvents("cregis", pid);
    expect(stored?.idempotency_key).toBe("payout:13825288274165761:13917516917882881:6");
  });

  it("maps every documented status of every callback kind", async () => {
    const base = {
      chain_id: "195",
      token_id: "195",
      currency: "TRX",
      amount: "2.5",
      txid: "ab",
      block_height: "1",
      block_time: 1686814482000,
      nonce: "abcdef",
      timestamp: 1687850657960,
    };
    const cases: [Record<string, unknown>, string, string][] = [
      ...(["2", "4", "6", "7"] as const).map((s): [Record<string, unknown>, string, string] => [
        { ...base, cid: 100 + Number(s), address: "T1", third_party_id: "p", status: Number(s) },
        "withdrawal.updated",
        { "2": "rejected", "4": "rejected", "6": "succeeded", "7": "failed" }[s],
      ]),
      ...(["2", "4", "6", "7"] as const).map((s): [Record<string, unknown>, string, string] => [
        { ...base, cid: 200 + Number(s), from_address: "T1", to_address: "T2", third_party_id: "w", status: Number(s) },
        "withdrawal.updated",
        { "2": "rejected", "4": "rejected", "6": "succeeded", "7": "failed" }[s],
      ]),
      [{ ...base, cid: 301, address: "T3", status: 1 }, "deposit.updated", "succeeded"],
      [{ ...base, cid: 302, address: "T3", status: "2" }, "deposit.updated", "failed"],
      ...(["2", "3", "4"] as const).map((s): [Record<string, unknown>, string, string] => [
        { ...base, cid: 400 + Number(s), address: "T4", real_amount: "2.4", third_party_id: "o", status: Number(s) },
        "deposit.updated",
        { "2": "succeeded", "3": "failed", "4": "expired" }[s],
      ]),
    ];
    const pid = String(Date.now());
    for (const [fields, ,] of cases) {
      const body = await cregisBody(Object.entries({ pid: Number(pid), ...fields }).map(([k, v]) => [k, JSON.stringify(v)]));
      expect((await post("cregis", body)).status).toBe(200);
    }
    await drain("cregis", pid);
    const received = await originEvents(pid);
    expect(received.map((e) => [e.json.type, e.json.data.status])).toEqual(cases.map(([, type, status]) => [type, status]));
  });

  it("maps every payment-engine event type (data as a JSON string, signed verbatim)", async () => {
    const types = {
      paid: "succeeded",
      paid_over: "succeeded",
      overpaid: "succeeded",
      paid_remain: "succeeded",
      paid_partial: "processing",
      partial_paid: "processing",
      expired: "expired",
      refunded: "cancelled",
    };
    const pid = String(Date.now() + 1);
    for (const [eventType] of Object.entries(types)) {
      const data = JSON.stringify({
        cregis_id: `po-${eventType}`,
        order_id: "m-1",
        order_amount: "100",
        order_currency: "HKD",
        pay_amount: "12.86",
        pay_currency: "USDT",
        status: "paid",
      });
      const body = await cregisBody([
        ["event_name", '"order"'],
        ["event_type", JSON.stringify(eventType)],
        ["pid", pid],
        ["nonce", '"m8jisx"'],
        ["timestamp", "1719993183400"],
        ["data", JSON.stringify(data)],
      ]);
      expect((await post("cregis", body)).status).toBe(200);
    }
    await drain("cregis", pid);
    const received = await originEvents(pid);
    expect(received.map((e) => [e.json.type, e.json.data.providerStatus, e.json.data.status])).toEqual(
      Object.entries(types).map(([t, s]) => ["payment.updated", t, s]),
    );
    expect(received[0]?.json.data).toMatchObject({
      amount: { value: "100", currency: "HKD" },
      paidAmount: { value: "12.86", currency: "USDT" },
      orderId: "m-1",
    });
  });
});
