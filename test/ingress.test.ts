/**
 * The ingress contract (ARCHITECTURE.md "Ingress" and "Replies to providers"), end to end inside
 * workerd: real KV, real SQLite-backed Durable Objects, a real origin on loopback.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { eventId, QUARANTINE_ACCOUNT } from "../src/ingress";
import { forgetIsolateCache, noteRetry } from "../src/isolate-cache";
import {
  call,
  captureLogs,
  cybavoCallback,
  cybavoChecksum,
  drain,
  newRows,
  originEvents,
  post,
  postCybavo,
  quarantinedText,
  secrets,
  storedEvents,
  uniqueAccount,
  unreachableLedgers,
} from "./support/gateway";

describe("routes", () => {
  // The details moved behind the admin token: test/admin-edges.test.ts "health".
  it("GET /healthz says ok, and nothing else", async () => {
    const response = await call(new Request("https://gateway.test/healthz"));
    expect([response.status, await response.text()]).toEqual([200, "ok"]);
  });

  it("GET /healthz is 500 not ok when the configuration is invalid, and webhooks get 503", async () => {
    const broken = { ...env, SOURCES: '{"x":{"provider":"cybavo","secrets":["MISSING_BINDING"]}}' } as unknown as Env;
    const response = await call(new Request("https://gateway.test/healthz"), broken);
    expect([response.status, await response.text()]).toEqual([500, "not ok"]);
    expect((await post("x", "{}", {}, broken)).status).toBe(503);
  });

  it("unknown source → 404, other methods → 405", async () => {
    expect((await post("nope", "{}")).status).toBe(404);
    const get = await call(new Request("https://gateway.test/webhooks/cybavo"));
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    expect((await call(new Request("https://gateway.test/other"))).status).toBe(404);
    expect((await post("%E0%A4%A", "{}")).status).toBe(404);
  });
});

describe("body size cap", () => {
  it("refuses a declared oversized body with 413 before reading it", async () => {
    const body = "x".repeat(65_537);
    expect((await post("cybavo", body, { "X-CHECKSUM": await cybavoChecksum(body) })).status).toBe(413);
  });

  it("stops reading an undeclared (streamed) body as soon as it passes the cap", async () => {
    let pulled = 0;
    const chunk = new Uint8Array(16 * 1024);
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        if (pulled > 1000)
          controller.close(); // 16 MiB if read to the end
        else controller.enqueue(chunk);
      },
    });
    const request = new Request("https://gateway.test/webhooks/cybavo", { method: "POST", body: stream, headers: { "X-CHECKSUM": "x" } });
    const response = await call(request);
    expect(response.status).toBe(413);
    // 4 chunks are exactly the 64 KiB cap, the 5th passes it; the stream may queue one more.
    expect(pulled).toBeGreaterThanOrEqual(5);
    expect(pulled).toBeLessThanOrEqual(6);
  });
});

describe("signatures", () => {
  it("missing, malformed or wrong checksum → 401 with a generic body; nothing stored", async () => {
    const wallet = uniqueAccount();
    const body = JSON.stringify(cybavoCallback({ wallet_id: wallet }));
    for (const headers of [{}, { "X-CHECKSUM": "not base64!" }, { "X-CHECKSUM": await cybavoChecksum(body, "wrong") }]) {
      const response = await post("cybavo", body, headers);
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: "unauthorized" });
    }
    expect(await storedEvents("cybavo", String(wallet))).toEqual([]);
  });

  it("accepts every listed secret (rotation), newest first", async () => {
    const wallet = uniqueAccount();
    const response = await postCybavo("cybavo", cybavoCallback({ wallet_id: wallet }), secrets.CYBAVO_OLD_SECRET);
    expect(response.status).toBe(200);
  });

  it("uses a wallet's own secret when the source maps one, and only that one", async () => {
    const walletSeven = cybavoCallback({ wallet_id: 7, serial: uniqueAccount() });
    expect((await postCybavo("cybavo-wallets", walletSeven, secrets.CYBAVO_WALLET_7_SECRET)).status).toBe(200);
    expect((await postCybavo("cybavo-wallets", { ...walletSeven, serial: uniqueAccount() })).status).toBe(401);
    const other = cybavoCallback({ wallet_id: uniqueAccount() });
    expect((await postCybavo("cybavo-wallets", other)).status).toBe(200);
    expect((await postCybavo("cybavo-wallets", { ...other, serial: 1 }, secrets.CYBAVO_WALLET_7_SECRET)).status).toBe(401);
  });

  it("refuses a body that names its wallet ambiguously, so a source-wide secret cannot sign for a mapped wallet", async () => {
    const before = (await storedEvents("cybavo-wallets", "7")).length;
    const body = JSON.stringify(cybavoCallback({ wallet_id: 5 }));
    for (const forged of [
      body.replace('"wallet_id":5', '"wallet_id":7.0'),
      body.replace('"wallet_id":5', '"wallet_id":7e0'),
      body.replace('"wallet_id":5', '"wallet_id":5,"wallet_id":7'),
    ]) {
      expect((await post("cybavo-wallets", forged, { "X-CHECKSUM": await cybavoChecksum(forged) })).status).toBe(401);
    }
    expect(await storedEvents("cybavo-wallets", "7")).toHaveLength(before);
  });
});

describe("storage", () => {
  it("answers 503 and acks nothing when the Durable Object fails", async () => {
    const failing = {
      idFromName: (name: string) => env.LEDGER.idFromName(name),
      get: () => ({
        accept: () => Promise.reject(new Error("storage unavailable")),
        quarantine: () => Promise.reject(new Error("storage unavailable")),
      }),
    };
    const faulty = { ...env, LEDGER: failing } as unknown as Env;
    const wallet = uniqueAccount();
    const callback = cybavoCallback({ wallet_id: wallet });
    const body = JSON.stringify(callback);
    const checksum = await cybavoChecksum(body);
    const response = await post("cybavo", body, { "X-CHECKSUM": checksum }, faulty);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: "unavailable" });
    // Not remembered at the edge either: the provider's retry reaches storage, which stores it
    // as a new event (not a duplicate of something never stored) and delivers it.
    const id = await eventId("cybavo", String(wallet), String(callback.serial));
    expect((await env.SEEN.list({ prefix: `seen:v1:${id}` })).keys).toEqual([]);
    const { result: retry, lines } = await captureLogs(() => post("cybavo", body, { "X-CHECKSUM": checksum }));
    expect(retry.status).toBe(200);
    expect(lines.filter((l) => l.msg === "ingress")).toEqual([expect.objectContaining({ outcome: "accepted", eventId: id })]);
    await drain("cybavo", String(wallet));
    expect((await originEvents(String(wallet))).map((e) => e.id)).toEqual([id]);
  });
});

describe("quarantine", () => {
  it("acks a verified body that is not JSON, stores it raw and forwards nothing", async () => {
    const body = `not json ${uniqueAccount()}`;
    const before = await storedEvents("cybavo", QUARANTINE_ACCOUNT);
    const response = await post("cybavo", body, { "X-CHECKSUM": await cybavoChecksum(body) });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("OK");
    const added = newRows(before, await storedEvents("cybavo", QUARANTINE_ACCOUNT));
    expect(added).toEqual([expect.objectContaining({ state: "quarantined", reason: "not JSON", type: null, body: null })]);
    expect(await quarantinedText("cybavo", added[0]!.id)).toBe(body);
  });

  it("acks a verified callback that matches no schema or has an unknown status, once per distinct body", async () => {
    const wallet = uniqueAccount();
    const before = await storedEvents("cybavo", QUARANTINE_ACCOUNT);
    const callbacks = [cybavoCallback({ wallet_id: wallet, type: 9 }), cybavoCallback({ wallet_id: wallet, state: 42 })];
    for (const callback of callbacks) {
      for (let i = 0; i < 2; i++) expect((await postCybavo("cybavo", callback)).status).toBe(200);
    }
    // Two distinct bodies, each sent twice: exactly two entries, each holding its own bytes.
    const added = newRows(before, await storedEvents("cybavo", QUARANTINE_ACCOUNT));
    expect(added.map((r) => [r.state, r.reason?.startsWith("schema: ") ? "schema" : r.reason])).toEqual([
      ["quarantined", "schema"],
      ["quarantined", "unmapped: state 42"],
    ]);
    expect(await Promise.all(added.map((r) => quarantinedText("cybavo", r.id)))).toEqual(callbacks.map((c) => JSON.stringify(c)));
    await drain("cybavo", String(wallet));
    expect(await originEvents(String(wallet))).toEqual([]);
    expect(await storedEvents("cybavo", String(wallet))).toEqual([]);
  });
});

describe("dedupe and order", () => {
  it("50 concurrent identical deliveries: all acked, the origin receives exactly one event", async () => {
    const wallet = uniqueAccount();
    const callback = cybavoCallback({ wallet_id: wallet, serial: wallet });
    const body = JSON.stringify(callback);
    const checksum = await cybavoChecksum(body);
    const responses = await Promise.all(Array.from({ length: 50 }, () => post("cybavo", body, { "X-CHECKSUM": checksum })));
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(await Promise.all(responses.map((r) => r.text()))).toEqual(Array(50).fill("OK"));

    await drain("cybavo", String(wallet));
    const received = await originEvents(String(wallet));
    expect(received).toHaveLength(1);
    expect(received[0]?.id).toBe(await eventId("cybavo", String(wallet), String(wallet)));
    expect(await storedEvents("cybavo", String(wallet))).toHaveLength(1);

    // A later retry is answered by this isolate's memory of what the ledger confirmed, with the
    // same success body: with the ledgers unreachable, it is still acked as a duplicate...
    const noLedger = unreachableLedgers();
    const fromIsolate = await captureLogs(() => post("cybavo", body, { "X-CHECKSUM": checksum }, noLedger));
    expect(fromIsolate.result.status).toBe(200);
    expect(await fromIsolate.result.text()).toBe("OK");
    expect(fromIsolate.lines.filter((l) => l.msg === "ingress")).toEqual([
      expect.objectContaining({ outcome: "duplicate", cache: "isolate", eventId: received[0]!.id }),
    ]);
    // ...and the retries taught the edge cache the event, which another isolate (here: this one,
    // its memory emptied) reads while the source is being retried.
    expect(await env.SEEN.get(`seen:v1:${received[0]!.id}`)).not.toBeNull();
    forgetIsolateCache();
    noteRetry("cybavo", Date.now());
    const { result: retry, lines } = await captureLogs(() => post("cybavo", body, { "X-CHECKSUM": checksum }, noLedger));
    expect(retry.status).toBe(200);
    expect(await retry.text()).toBe("OK");
    expect(lines.filter((l) => l.msg === "ingress")).toEqual([
      expect.objectContaining({ outcome: "duplicate", cache: "kv", eventId: received[0]!.id }),
    ]);
    // ...while a callback the cache does not know needs the ledger: 503 with these bindings.
    expect((await postCybavo("cybavo", cybavoCallback({ wallet_id: wallet }), undefined, {}, noLedger)).status).toBe(503);
    expect(await originEvents(String(wallet))).toHaveLength(1);
  });

  it("a withdrawal going state 1 → 2 → 3 reaches the origin in order, ending in succeeded", async () => {
    const wallet = uniqueAccount();
    const steps = [
      { serial: 1, state: 1, processing_state: 0, txid: "" },
      { serial: 2, state: 2, processing_state: 0 },
      { serial: 3, state: 3, processing_state: 2, confirm_blocks: 12 },
    ];
    for (const step of steps) {
      const callback = cybavoCallback({ type: 2, order_id: "order-7", wallet_id: wallet, ...step, serial: wallet * 10 + step.serial });
      expect((await postCybavo("cybavo", callback)).status).toBe(200);
    }
    await drain("cybavo", String(wallet));
    const received = await originEvents(String(wallet));
    expect(received.map((e) => [e.json.type, e.json.data.status, e.json.data.providerStatus])).toEqual([
      ["withdrawal.updated", "processing", "1/0"],
      ["withdrawal.updated", "processing", "2/0"],
      ["withdrawal.updated", "succeeded", "3/2"],
    ]);
    expect(received[2]?.json.data).toMatchObject({ orderId: "order-7", confirmations: 12, amount: { value: "0.5", currency: "ETH" } });
  });
});

describe("CYBAVO normalization", () => {
  it("carries amounts, fee, addresses, failure reason and AML fields through", async () => {
    const wallet = uniqueAccount();
    const callbacks = [
      cybavoCallback({
        type: 4,
        serial: wallet * 10 + 1,
        wallet_id: wallet,
        amount: "88800000000000",
        fees: "2142000000000000",
        addon: { blocklist_tags: ["Involve phishing activity"], aml_screen_pass: false, fee_decimal: 18 },
      }),
      cybavoCallback({
        type: 2,
        serial: wallet * 10 + 2,
        wallet_id: wallet,
        state: 5,
        processing_state: -1,
        fees: "",
        addon: { err_reason: "Illegal Transaction Format" },
      }),
      cybavoCallback({
        type: 3,
        serial: wallet * 10 + 3,
        wallet_id: wallet,
        amount: "1",
        decimal: 6,
        token_address: "0xdac17f958d2ee523a2206206994597c13d831ec7",
        currency: "USDT",
      }),
    ];
    for (const callback of callbacks) expect((await postCybavo("cybavo", callback)).status).toBe(200);
    await drain("cybavo", String(wallet));
    const received = (await originEvents(String(wallet))).map((e) => e.json);
    expect(received).toHaveLength(3);
    const [airdrop, failed, collect] = received;
    expect(airdrop).toMatchObject({
      type: "deposit.updated",
      time: "2020-07-21T01:59:11.000Z",
      data: {
        status: "succeeded",
        amount: { value: "0.0000888", currency: "ETH" },
        fee: { value: "0.002142", currency: "ETH" },
        aml: { screenPass: false, blocklistTags: ["Involve phishing activity"] },
        payload: { addon: { blocklist_tags: ["Involve phishing activity"] } },
      },
    });
    expect(failed).toMatchObject({ type: "withdrawal.updated", data: { status: "failed", failureReason: "Illegal Transaction Format" } });
    expect(failed?.data).not.toHaveProperty("fee");
    expect(collect).toMatchObject({
      type: "transfer.updated",
      data: { amount: { value: "0.000001", currency: "USDT" }, fee: { currency: "bip44:60" } },
    });
  });

  it("maps every documented state", async () => {
    const { cybavoStatus } = await import("../src/providers/cybavo");
    expect(
      [
        [1, 0],
        [2, 0],
        [3, 0],
        [3, 1],
        [3, 2],
        [5, -1],
        [8, -1],
        [10, -1],
        [11, -1],
        [4, 0],
      ].map(([state, ps]) => cybavoStatus(state!, ps!)),
    ).toEqual(["processing", "processing", "processing", "processing", "succeeded", "failed", "cancelled", "failed", "failed", undefined]);
  });
});
