/**
 * End to end, over real sockets: the Worker as `wrangler deploy` bundles it, served by Miniflare
 * (workerd, real KV, SQLite-backed Durable Objects, real alarms) on 127.0.0.1, receiving signed
 * provider callbacks with `fetch` and delivering to the real Node origin (scripts/origin.mjs).
 * Every delivery is checked with the libraries an origin team would use: `standardwebhooks`
 * for the signature, the `cloudevents` SDK for the envelope, Ajv for schema/gateway-event.json.
 */
import { generateKeyPairSync } from "node:crypto";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { CloudEvent, HTTP } from "cloudevents";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import eventSchema from "../../schema/gateway-event.json" with { type: "json" };
import { type ReceivedEvent, type RunningOrigin, startOrigin } from "../../scripts/origin.mjs";
import { signCregis } from "../../src/providers/cregis/signer.mjs";
import cybavoDeposit from "../../src/providers/cybavo/fixtures/deposit-succeeded.json" with { type: "json" };
import { signCybavo } from "../../src/providers/cybavo/signer.mjs";
import vectors from "../fixtures/vectors.json" with { type: "json" };
import { TEST_SECRETS, testBindings } from "../support/test-config";
import {
  applyIndexMigrations,
  buildWorker,
  expectedEventId,
  makeTempDir,
  removeDir,
  sleep,
  unique,
  waitFor,
  withTmpdir,
  wranglerBindingNames,
  wranglerWorkerOptions,
} from "./support";

/** How long to watch for a delivery that must not happen. */
const QUIET_MS = 1_500;

let origin: RunningOrigin;
let mf: Miniflare;
let gatewayUrl: URL;
let tempDir: string;

beforeAll(async () => {
  tempDir = await makeTempDir("gateway-e2e-");
  const scriptPath = await buildWorker(tempDir);
  origin = await startOrigin({ secret: TEST_SECRETS.ORIGIN_SECRET });
  // Bindings, compatibility date and Durable Object classes come from wrangler.toml; the tests
  // set only values: their sources, secrets and origin.
  const worker = wranglerWorkerOptions();
  mf = withTmpdir(
    tempDir,
    () =>
      new Miniflare(
        convertV4MiniflareOptions({
          ...worker,
          modules: true,
          scriptPath,
          // Module names are paths relative to this root; the default (the cwd) would name the
          // bundle "../../tmp/...", which workerd refuses.
          modulesRoot: tempDir,
          bindings: {
            ...worker.bindings,
            ...testBindings(
              origin.url,
              generateKeyPairSync("rsa", {
                modulusLength: 2048,
                publicKeyEncoding: { type: "spki", format: "pem" },
                privateKeyEncoding: { type: "pkcs8", format: "pem" },
              }).publicKey,
            ),
          },
          host: "127.0.0.1",
          port: 0,
        }),
      ),
  );
  gatewayUrl = await mf.ready;
  await applyIndexMigrations(mf);
});

afterAll(async () => {
  // Miniflare first: stopping workerd closes its keep-alive connections to the origin, which
  // would otherwise hold `server.close()` open. Each step runs even if an earlier one failed.
  try {
    await mf?.dispose();
  } finally {
    try {
      await origin?.close();
    } finally {
      if (tempDir) await removeDir(tempDir);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Sending callbacks

function post(source: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(new URL(`/webhooks/${source}`, gatewayUrl), {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
}

async function expectAck(response: Response, ack: string): Promise<void> {
  const text = await response.text();
  expect({ status: response.status, text }).toEqual({ status: 200, text: ack });
}

/** The CYBAVO seed-doc deposit sample (the `deposit-succeeded` fixture) with a fresh serial. */
function cybavoCallback(overrides: Record<string, unknown>): Record<string, unknown> {
  return { ...cybavoDeposit, serial: unique(), ...overrides };
}

function signedCybavo(callback: Record<string, unknown>): { body: string; headers: Record<string, string> } {
  return signCybavo(callback, TEST_SECRETS.CYBAVO_API_SECRET);
}

const cybavoChecksum = (body: string, secret: string) => signCybavo(JSON.parse(body), secret).headers["X-CHECKSUM"]!;

// ---------------------------------------------------------------------------------------------
// Checking what the origin received

const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv);
const validateEvent = ajv.compile(eventSchema);

interface Expected {
  source: string;
  idempotencyKey: string;
  type: string;
  subject: string;
  status: string;
  payload: unknown;
}

/** The id of every delivery a test checked against what it sent: all the origin may receive. */
const expectedIds: string[] = [];

function eventsFor(subject: string): ReceivedEvent[] {
  return origin.events.filter((e) => e.json.subject === subject);
}

function waitForEvents(subject: string, count: number): Promise<ReceivedEvent[]> {
  return waitFor(
    () => eventsFor(subject),
    (events) => events.length >= count,
    (events) => `origin has ${events.length} of ${count} events for subject ${subject}`,
  );
}

function headerRecord(headers: ReceivedEvent["headers"]): Record<string, string> {
  const record: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (typeof value === "string") record[name] = value;
    else if (Array.isArray(value)) record[name] = value.join(", ");
  }
  return record;
}

/**
 * Checks one delivery as an origin would: the Standard Webhooks signature over the raw body, the
 * CloudEvent the SDK reads from the HTTP message, and the body against the published schema.
 * Returns the body's JSON.
 */
function checkDelivery(event: ReceivedEvent, expected?: Expected): Record<string, unknown> & { data: Record<string, unknown> } {
  const headers = headerRecord(event.headers);

  // Signature, verified again here from the recorded raw body and headers.
  const verified = new Webhook(TEST_SECRETS.ORIGIN_SECRET).verify(event.body, headers);
  const json = JSON.parse(event.body) as Record<string, unknown> & { data: Record<string, unknown> };
  expect(verified).toEqual(json);

  // CloudEvent, as the official SDK parses the HTTP message (structured mode).
  expect(headers["content-type"]).toMatch(/^application\/cloudevents\+json/);
  const parsed = HTTP.toEvent({ headers, body: event.body });
  expect(Array.isArray(parsed)).toBe(false);
  const cloudEvent = parsed as CloudEvent<Record<string, unknown>>;
  expect(cloudEvent).toBeInstanceOf(CloudEvent);
  expect(cloudEvent.validate()).toBe(true);
  expect(cloudEvent.specversion).toBe("1.0");
  expect(cloudEvent.id).toBe(headers["webhook-id"]);
  expect(cloudEvent.id).toBe(json.id);
  expect(cloudEvent.type).toBe(json.type);
  expect(cloudEvent.source).toBe(json.source);
  expect(cloudEvent.subject).toBe(json.subject);
  expect(cloudEvent.datacontenttype).toBe("application/json");

  // The published schema.
  const valid = validateEvent(json);
  expect(valid, ajv.errorsText(validateEvent.errors, { separator: "\n" })).toBe(true);

  if (expected) {
    expect(cloudEvent.id).toBe(expectedEventId(expected.source, expected.subject, expected.idempotencyKey));
    expectedIds.push(cloudEvent.id);
    expect(cloudEvent.source).toBe(`/sources/${expected.source}`);
    expect(cloudEvent.type).toBe(expected.type);
    expect(cloudEvent.subject).toBe(expected.subject);
    expect(json.provider).toBe(expected.source);
    expect(json.data.status).toBe(expected.status);
    expect(json.data.payload).toEqual(expected.payload);
  }
  return json;
}

// ---------------------------------------------------------------------------------------------

describe("gateway served by Miniflare on 127.0.0.1", () => {
  it("serves its health check", async () => {
    expect(gatewayUrl.hostname).toBe("127.0.0.1");
    const response = await fetch(new URL("/healthz", gatewayUrl));
    expect([response.status, await response.text()]).toEqual([200, "ok"]);
  });

  it("has every binding wrangler.toml declares, the operators' index (INDEX_DB) included", async () => {
    const declared = wranglerBindingNames();
    expect(declared).toEqual(expect.arrayContaining(["LEDGER", "INDEX_DB", "ORIGIN_URL", "SEEN", "SOURCES"]));
    const env = await mf.getBindings();
    expect(declared.filter((name) => !(name in env))).toEqual([]);
  });

  it("acks a CYBAVO deposit with OK and delivers it once; the same callback again is acked and not delivered", async () => {
    const wallet = unique();
    const callback = cybavoCallback({ wallet_id: wallet });
    const { body, headers } = signedCybavo(callback);

    await expectAck(await post("cybavo", body, headers), "OK");
    const [event] = await waitForEvents(String(wallet), 1);
    const json = checkDelivery(event!, {
      source: "cybavo",
      idempotencyKey: String(callback.serial),
      type: "deposit.updated",
      subject: String(wallet),
      status: "succeeded",
      payload: callback,
    });
    expect(json.data).toMatchObject({
      providerStatus: "3/2",
      amount: { value: "0.5", currency: "ETH" },
      fee: { value: "0.000945", currency: "ETH" },
    });

    // The provider retries the very same callback: acked as before, forwarded never again.
    await expectAck(await post("cybavo", body, headers), "OK");
    await sleep(QUIET_MS);
    expect(eventsFor(String(wallet)).map((e) => e.id)).toEqual([event!.id]);
  });

  it("delivers a CYBAVO withdrawal's updates for one wallet in order: processing, processing, succeeded", async () => {
    const wallet = unique();
    const orderId = `e2e-${wallet}`;
    const base = {
      type: 2,
      order_id: orderId,
      amount: "10000000000000000",
      wallet_id: wallet,
      to_address: "0x8382Cc1B05649AfBe179e341179fa869C2A9862b",
    };
    const txid = "0x4f0b3bd5b4b2c4b8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4";
    const updates = [
      cybavoCallback({ ...base, state: 1, processing_state: 0, txid: "", fees: "", block_height: 0, confirm_blocks: 0, chain_at: 0 }),
      cybavoCallback({ ...base, state: 2, processing_state: 0, txid, block_height: 0, confirm_blocks: 0, chain_at: 0 }),
      cybavoCallback({ ...base, state: 3, processing_state: 2, txid, block_height: 8336300, confirm_blocks: 12 }),
    ];
    expect(new Set(updates.map((u) => u.serial)).size).toBe(3);

    // Sent one after another, as CYBAVO does: each is acked before the next is sent.
    for (const update of updates) {
      const { body, headers } = signedCybavo(update);
      await expectAck(await post("cybavo", body, headers), "OK");
    }

    const events = await waitForEvents(String(wallet), 3);
    const statuses = ["processing", "processing", "succeeded"];
    const jsons = events.map((event, i) =>
      checkDelivery(event, {
        source: "cybavo",
        idempotencyKey: String(updates[i]!.serial),
        type: "withdrawal.updated",
        subject: String(wallet),
        status: statuses[i]!,
        payload: updates[i],
      }),
    );
    expect(jsons.map((j) => j.data.status)).toEqual(statuses);
    expect(jsons.map((j) => j.data.providerStatus)).toEqual(["1/0", "2/0", "3/2"]);
    expect(jsons.map((j) => j.data.orderId)).toEqual([orderId, orderId, orderId]);

    await sleep(QUIET_MS);
    expect(eventsFor(String(wallet))).toHaveLength(3);
  });

  it("acks a Cregis payout (status 6) with success and delivers it as a succeeded withdrawal", async () => {
    const sample = JSON.parse(vectors.cregis[1]!.body) as Record<string, unknown>;
    const pid = unique();
    const cid = unique();
    const fields: Record<string, unknown> = {
      ...sample,
      pid,
      cid,
      third_party_id: `e2e-${cid}`,
      status: 6,
      nonce: "e2e0k1",
      timestamp: Date.now(),
    };
    delete fields.sign;
    const { body } = signCregis(fields, TEST_SECRETS.CREGIS_API_KEY);

    await expectAck(await post("cregis", body), "success");
    const [event] = await waitForEvents(String(pid), 1);
    const json = checkDelivery(event!, {
      source: "cregis",
      // src/providers/cregis/index.ts: `<kind>:<pid>:<cid>:<status>`.
      idempotencyKey: `payout:${pid}:${cid}:6`,
      type: "withdrawal.updated",
      subject: String(pid),
      status: "succeeded",
      payload: JSON.parse(body),
    });
    expect(json.data).toMatchObject({
      providerStatus: "6",
      amount: { value: "1.1", currency: "TRX" },
      orderId: `e2e-${cid}`,
      toAddress: sample.address,
      txHash: sample.txid,
    });
  });

  it("rejects forged CYBAVO callbacks with 401 and forwards nothing", async () => {
    const wallet = unique();
    const callback = cybavoCallback({ wallet_id: wallet });
    const body = JSON.stringify(callback);
    const attempts = [
      // Signed with a secret the gateway does not hold.
      { body, checksum: cybavoChecksum(body, "not-the-api-secret") },
      // A genuine checksum over a body that was changed afterwards.
      {
        body: body.replace('"500000000000000000"', '"900000000000000000"'),
        checksum: cybavoChecksum(body, TEST_SECRETS.CYBAVO_API_SECRET),
      },
    ];
    expect(attempts[1]!.body).not.toBe(body);

    for (const attempt of attempts) {
      const response = await post("cybavo", attempt.body, { "X-CHECKSUM": attempt.checksum });
      expect(response.status).toBe(401);
      expect(response.headers.get("content-type")).toMatch(/^application\/json/);
      expect(await response.json()).toEqual({ error: "unauthorized" });
    }
    await sleep(QUIET_MS);
    expect(eventsFor(String(wallet))).toEqual([]);
    // Both are in the operators' list of rejected requests (D1, migrations/ applied), newest
    // first: cause and size, never the body.
    const response = await fetch(new URL("/admin/rejections?source=cybavo", gatewayUrl), {
      headers: { authorization: `Bearer ${TEST_SECRETS.ADMIN_TOKEN}` },
    });
    const { rejections } = (await response.json()) as { rejections: { cause: string; bytes: number }[] };
    expect(rejections.map((r) => [r.cause, r.bytes])).toEqual(attempts.reverse().map((a) => ["bad_signature", Buffer.byteLength(a.body)]));
    expect(JSON.stringify(rejections)).not.toContain(String(callback.serial));
  });

  it("every delivery the origin received verifies, parses as a CloudEvent, matches the schema, and came once", () => {
    // Exactly the deliveries the tests above expected, each once: nothing more was sent.
    expect(origin.events.map((e) => e.id).sort()).toEqual([...expectedIds].sort());
    for (const event of origin.events) checkDelivery(event);
  });
});
