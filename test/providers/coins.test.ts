import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { COINS_KYC_STATUS, COINS_ORDER_STATUS, COINS_TRANSACTION_TYPE, provider as coins } from "../../src/providers/coins";
import { fromBase64, toBase64, utf8 } from "../../src/verify/crypto";
import { captureLogs, drain, originEvents, post } from "../support/gateway";
import { kits } from "../support/kits";
import { TEST_SECRETS } from "../support/test-config";

async function rsaPair() {
  return crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  ) as Promise<CryptoKeyPair>;
}

async function pem(key: CryptoKey): Promise<string> {
  const der = new Uint8Array((await crypto.subtle.exportKey("spki", key)) as ArrayBuffer);
  return `-----BEGIN PUBLIC KEY-----\n${toBase64(der).replace(/(.{64})/g, "$1\n")}\n-----END PUBLIC KEY-----\n`;
}

const rsaOptions = (publicKey: string) => ({
  scheme: "rsa-sha256" as const,
  publicKey,
  signatureHeader: "x-signature",
  toleranceSeconds: 300,
  tokenHeader: "authorization",
  tokenPrefix: "Token ",
});

describe("Coins verification schemes", () => {
  it("rsa-sha256: a key pair generated here signs a body that verifies; another key → refused", async () => {
    const pair = await rsaPair();
    const other = await rsaPair();
    const body = utf8('{"event":"BALANCE_CHANGE_EVENT","data":{}}');
    const request = (signature: ArrayBuffer) => ({
      body,
      headers: new Headers({ "X-Signature": toBase64(new Uint8Array(signature)) }),
      method: "POST",
      url: "https://gateway.test/",
      now: Date.now(),
    });
    const keys = { secrets: [], named: new Map(), options: rsaOptions(await pem(pair.publicKey)) };
    expect(await coins.verify(request(await crypto.subtle.sign("RSASSA-PKCS1-v1_5", pair.privateKey, body)), keys)).toEqual({ ok: true });
    expect(await coins.verify(request(await crypto.subtle.sign("RSASSA-PKCS1-v1_5", other.privateKey, body)), keys)).toMatchObject({
      ok: false,
      reason: "bad_signature",
    });
  });

  it("rsa-sha256 through the gateway: the configured key verifies, a different key gets 401", async () => {
    const kit = kits.find((k) => k.source === "coins-rsa")!;
    const callback = {
      event: "BALANCE_CHANGE_EVENT",
      data: { userId: crypto.randomUUID(), currency: "PHP", available: "1", time: 1675225144301 },
    };
    const good = await kit.sign(callback);
    expect((await post("coins-rsa", good.body, good.headers)).status).toBe(200);
    const forged = await kit.sign(callback, { wrongSecret: true });
    expect((await post("coins-rsa", forged.body, forged.headers)).status).toBe(401);
    expect(fromBase64(env.TEST_COINS_PRIVATE_KEY.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""))).toBeDefined();
  });

  it("rsa-sha256 with a public key that does not import: each refusal is logged at error with the key's failure; a forged request stays info", async () => {
    // The shape config checks (PEM armour around base64), but not a key: WebCrypto refuses it.
    const unusable = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
    const bindings = {
      ...env,
      SOURCES: JSON.stringify({ "coins-badkey": { provider: "coins", scheme: "rsa-sha256", publicKey: unusable } }),
    } as Env;
    const body = '{"event":"BALANCE_CHANGE_EVENT","data":{}}';
    const { result, lines } = await captureLogs(() => post("coins-badkey", body, { "x-signature": "AAAA" }, bindings));
    expect(result.status).toBe(401);
    // Only this request's line: alarms of earlier tests may log deliveries meanwhile.
    const ingress = (logged: typeof lines) => logged.filter((line) => line.msg === "ingress");
    expect(ingress(lines).map(({ msg, level, reason, error }) => ({ msg, level, reason, error }))).toEqual([
      { msg: "ingress", level: "error", reason: "no_secret", error: "coins publicKey does not import: DataError" },
    ]);
    const forged = await captureLogs(() => post("coins-rsa", body, { "X-Coins-Signature": "AAAA" }));
    expect(forged.result.status).toBe(401);
    expect(ingress(forged.lines).map(({ msg, level, reason }) => ({ msg, level, reason }))).toEqual([
      { msg: "ingress", level: "info", reason: "bad_signature" },
    ]);
  });

  it("token: the right token is accepted, a wrong one → 401", async () => {
    const body = JSON.stringify({ event: "USER_STATUS_UPDATE", data: { userId: crypto.randomUUID(), kycStatus: "passed" } });
    expect((await post("coins-token", body, { Authorization: `Token ${TEST_SECRETS.COINS_TOKEN}` })).status).toBe(200);
    expect((await post("coins-token", body, { Authorization: `Token ${TEST_SECRETS.COINS_TOKEN}x` })).status).toBe(401);
    expect((await post("coins-token", body, { Authorization: "Token wrong" })).status).toBe(401);
    expect((await post("coins-token", body, { Authorization: TEST_SECRETS.COINS_TOKEN })).status).toBe(401);
  });
});

/**
 * The mappings as docs/providers/coins.md states them, written out here: expectations taken
 * from the adapter's own tables would pass whatever those tables say.
 */
const DOCUMENTED = {
  order: {
    SUCCESS: "succeeded",
    SUCCEEDED: "succeeded",
    COMPLETED: "succeeded",
    FAILED: "failed",
    FAIL: "failed",
    PENDING: "pending",
    PROCESSING: "processing",
    CANCELLED: "cancelled",
    CANCELED: "cancelled",
    REJECTED: "rejected",
    EXPIRED: "expired",
  },
  kyc: {
    PASSED: "active",
    APPROVED: "active",
    PENDING: "pending",
    PROCESSING: "pending",
    REJECTED: "rejected",
    FAILED: "rejected",
    SUSPENDED: "suspended",
  },
  transactionType: {
    DEPOSIT: "deposit.updated",
    CASH_IN: "deposit.updated",
    WITHDRAW: "withdrawal.updated",
    WITHDRAWAL: "withdrawal.updated",
    CASH_OUT: "withdrawal.updated",
  },
} as const;

describe("Coins normalization", () => {
  const kit = kits.find((k) => k.source === "coins-hmac")!;
  async function send(callback: Record<string, unknown>) {
    const signed = await kit.sign(callback);
    const response = await post("coins-hmac", signed.body, signed.headers);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("OK");
  }

  it("accepts ids and amounts as numbers or strings and emits exact strings", async () => {
    const user = Date.now();
    await send({
      event: "FIAT_BATCH_TRANSFER_NOTIFICATION",
      data: { batchTxId: 99, fromUserId: user, toUserId: 2, amount: 12.5, currency: "PHP", status: "success" },
    });
    await send({
      event: "FIAT_P2P_TRANSFER_NOTIFICATION",
      data: {
        clientTxId: "c-1",
        fromUserId: String(user),
        toUserId: "3",
        amount: "0.10",
        currency: "PHP",
        status: "failed",
        remarks: "LIMIT",
      },
    });
    await drain("coins-hmac", String(user));
    const received = (await originEvents(String(user))).map((e) => e.json.data);
    expect(received).toHaveLength(2);
    const [batch, p2p] = received;
    expect(batch).toMatchObject({
      status: "succeeded",
      amount: { value: "12.5", currency: "PHP" },
      orderId: "99",
      fromAccount: String(user),
      toAccount: "2",
    });
    expect(p2p).toMatchObject({ status: "failed", amount: { value: "0.10" }, failureReason: "LIMIT", orderId: "c-1" });
  });

  it("maps every documented order status, KYC status and transaction direction", async () => {
    // Every value the adapter maps is a documented one (a new value needs its docs row).
    expect([COINS_ORDER_STATUS, COINS_KYC_STATUS, COINS_TRANSACTION_TYPE].map((table) => Object.keys(table).sort())).toEqual(
      [DOCUMENTED.order, DOCUMENTED.kyc, DOCUMENTED.transactionType].map((table) => Object.keys(table).sort()),
    );
    const user = `u-${Date.now()}`;
    const expected: [string, string][] = [];
    for (const [status, normalized] of Object.entries(DOCUMENTED.order)) {
      for (const event of ["FIAT_CASH_IN_NOTIFICATION", "FIAT_CASH_OUT_NOTIFICATION"]) {
        await send({ event, data: { internalOrderId: `${event}-${status}`, externalOrderId: 1, status, userId: user } });
        expected.push([event === "FIAT_CASH_IN_NOTIFICATION" ? "deposit.updated" : "withdrawal.updated", normalized]);
      }
    }
    for (const [status, normalized] of Object.entries(DOCUMENTED.kyc)) {
      await send({ event: "USER_STATUS_UPDATE", data: { userId: user, kycLevel: "lv1", kycStatus: status.toLowerCase() } });
      expected.push(["customer.updated", normalized]);
    }
    for (const [type, eventType] of [...Object.entries(DOCUMENTED.transactionType), ["SWAP", "transfer.updated"]]) {
      await send({
        event: "TRANSACTION_STATUS_UPDATE",
        data: { orderId: `t-${type}`, userId: user, type, status: "SUCCESS", amount: 5, currency: "PHP" },
      });
      expected.push([eventType!, "succeeded"]);
    }
    await send({
      event: "BALANCE_CHANGE_EVENT",
      data: { userId: user, currency: "PHP", available: "10", changed: "-10", type: "TRANSFER", clientTxId: "x", time: 1675225144301 },
    });
    expected.push(["balance.updated", "active"]);
    await drain("coins-hmac", user);
    const received = await originEvents(user);
    expect(received.map((e) => [e.json.type, e.json.data.status])).toEqual(expected);
    expect(received.at(-1)?.json).toMatchObject({
      time: "2023-02-01T04:19:04.301Z",
      data: { balance: { value: "10" }, change: { value: "-10" }, reason: "TRANSFER" },
    });
  });
});

describe("Coins samples", () => {
  it("a balance change with an empty clientTxId (as in Coins' own sample) is delivered", async () => {
    const kit = kits.find((k) => k.source === "coins-token")!;
    const user = crypto.randomUUID();
    const callback = {
      event: "BALANCE_CHANGE_EVENT",
      data: { userId: user, currency: "PHP", available: "10", changed: "10", type: "DEPOSIT", clientTxId: "", time: 1675225144301 },
    };
    const signed = await kit.sign(callback);
    expect((await post("coins-token", signed.body, signed.headers)).status).toBe(200);
    await drain("coins-token", user);
    expect((await originEvents(user)).map((e) => e.json.type)).toEqual(["balance.updated"]);
  });
});
