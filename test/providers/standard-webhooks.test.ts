/**
 * The standard-webhooks provider (docs/providers/standard-webhooks.md), signed by the official
 * `standardwebhooks` package (an implementation independent of the gateway's) and sent through
 * the real ingress: key rotation, the ±5 minute window both ways, several signatures per header,
 * unknown version tags, malformed headers, dedupe on `webhook-id` (with a property: one message
 * id is one event whatever its timestamp, signature or secret; two ids are two events), the
 * account pointer (exact numbers, quarantine when it names nothing), the generic and the mapped
 * types, the reply, and the options config refuses.
 */
import fc from "fast-check";
import { Webhook } from "standardwebhooks";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config";
import { eventId, parseVerified, QUARANTINE_ACCOUNT } from "../../src/ingress";
import { forgetLogWindows } from "../../src/log-throttle";
import { DEFAULT_ACCOUNT, provider } from "../../src/providers/standard-webhooks";
import vectors from "../../src/providers/standard-webhooks/fixtures/vectors/official-library.json" with { type: "json" };
import { utf8 } from "../../src/verify/crypto";
import { captureLogs, drain, newRows, originEvents, post, quarantinedText, storedEvents, uniqueAccount } from "../support/gateway";
import { TEST_SECRETS } from "../support/test-config";

const SOURCE = "standard-webhooks";
const DEFAULT_SOURCE = "standard-webhooks-default";
const NEW = TEST_SECRETS.STANDARD_WEBHOOKS_SECRET!;
const OLD = TEST_SECRETS.STANDARD_WEBHOOKS_SECRET_PREVIOUS!;
/** A secret the source no longer lists (rotated out). */
const REMOVED = `whsec_${btoa("a secret this source no longer lists")}`;
const V1A = "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==";
const defaults = v.parse(provider.options, {});

/** The three headers as the official library signs them, one signature per secret, at `at` (Unix ms). */
function signed(body: string, secrets: readonly string[], id: string, at = Date.now()): Record<string, string> {
  const seconds = Math.floor(at / 1000);
  const signatures = secrets.map((secret) => new Webhook(secret).sign(id, new Date(seconds * 1000), body));
  return { "webhook-id": id, "webhook-timestamp": String(seconds), "webhook-signature": signatures.join(" ") };
}

const messageId = () => `msg_${crypto.randomUUID().replaceAll("-", "")}`;
const customer = () => `cus_${uniqueAccount()}`;
const invoice = (customerId: string | number, type = "invoice.paid") =>
  JSON.stringify({ type, timestamp: "2025-06-02T10:15:00.000Z", data: { id: `in_${customerId}`, customer_id: customerId, amount: 1999 } });

/** Posts and returns the status, the reply text and the ingress log line. */
async function send(source: string, body: string, headers: Record<string, string>) {
  // Each request as the first rejection of its window, so its line is written (src/log-throttle.ts).
  forgetLogWindows();
  const { result, lines } = await captureLogs(async () => {
    const response = await post(source, body, headers);
    return { status: response.status, text: await response.text(), contentType: response.headers.get("content-type") };
  });
  return { ...result, line: lines.find((line) => line.msg === "ingress") };
}

function inbound(body: string | Uint8Array, headers: Record<string, string>, now: number) {
  const bytes = typeof body === "string" ? utf8(body) : (body as Uint8Array<ArrayBuffer>);
  return { body: bytes, headers: new Headers(headers), method: "POST", url: "https://gateway.test/webhooks/x", now };
}

describe("independent vectors (computed with the official library)", () => {
  for (const vector of vectors.vectors) {
    const headers = { "webhook-id": vector.id, "webhook-timestamp": vector.timestamp, "webhook-signature": vector.signature };
    const at = Number(vector.timestamp) * 1000;
    const keys = (secrets: string[]) => ({ secrets, named: new Map<string, string>(), options: defaults });

    it(`accepts, with every listed secret alone: ${vector.name}`, async () => {
      for (const secrets of [vector.secrets, ...vector.secrets.map((s) => [s])])
        expect(await provider.verify(inbound(vector.body, headers, at), keys(secrets))).toEqual({
          ok: true,
          signed: { "webhook-id": vector.id },
        });
    });

    it(`refuses every one-byte change of the body and of each header, and 301 s either way: ${vector.name}`, async () => {
      const bytes = utf8(vector.body);
      for (let i = 0; i < bytes.length; i++) {
        const changed = bytes.slice();
        changed[i] = (changed[i] as number) ^ 0x01;
        expect((await provider.verify(inbound(changed, headers, at), keys(vector.secrets))).ok).toBe(false);
      }
      const flips = (value: string) =>
        [...value].map((_, i) => `${value.slice(0, i)}${String.fromCharCode(value.charCodeAt(i) ^ 0x01)}${value.slice(i + 1)}`);
      for (const name of ["webhook-id", "webhook-timestamp"] as const) {
        for (const changed of flips(headers[name])) {
          const result = await provider.verify(inbound(vector.body, { ...headers, [name]: changed }, at), keys(vector.secrets));
          expect(result.ok, `${name}: ${changed}`).toBe(false);
        }
      }
      // Each v1 signature changed, sent alone (another entry of the header would still verify).
      for (const entry of vector.signature.split(" ").filter((e) => e.startsWith("v1,"))) {
        for (const changed of flips(entry)) {
          const result = await provider.verify(
            inbound(vector.body, { ...headers, "webhook-signature": changed }, at),
            keys(vector.secrets),
          );
          expect(result.ok, changed).toBe(false);
        }
      }
      for (const skew of [-301_000, 301_000])
        expect(await provider.verify(inbound(vector.body, headers, at + skew), keys(vector.secrets))).toEqual({
          ok: false,
          reason: "stale_timestamp",
        });
    });
  }
});

describe("verification through the gateway", () => {
  it("rotation: the new and the previous secret are accepted, a removed one refused; one listed signature among several suffices", async () => {
    const account = customer();
    const body = invoice(account);
    const outcomes = [];
    for (const secrets of [[NEW], [OLD], [REMOVED], [REMOVED, OLD], [OLD, NEW]]) {
      const { status, line } = await send(SOURCE, body, signed(body, secrets, messageId()));
      outcomes.push([status, line?.reason ?? line?.outcome]);
    }
    expect(outcomes).toEqual([
      [200, "accepted"],
      [200, "accepted"],
      [401, "bad_signature"],
      [200, "accepted"],
      [200, "accepted"],
    ]);
    expect(await storedEvents(SOURCE, account)).toHaveLength(4);
  });

  it("the window: 290 s early or late is accepted, 310 s either way is refused as stale", async () => {
    const account = customer();
    const body = invoice(account);
    const results = [];
    for (const skew of [-290_000, 290_000, -310_000, 310_000]) {
      const { status, line } = await send(SOURCE, body, signed(body, [NEW], messageId(), Date.now() + skew));
      results.push([skew, status, line?.reason ?? line?.outcome]);
    }
    expect(results).toEqual([
      [-290_000, 200, "accepted"],
      [290_000, 200, "accepted"],
      [-310_000, 401, "stale_timestamp"],
      [310_000, 401, "stale_timestamp"],
    ]);
  });

  it("v1a and unknown version tags are ignored: alone they are refused, next to a valid v1 the request is accepted", async () => {
    const account = customer();
    const body = invoice(account);
    const id = messageId();
    const good = signed(body, [NEW], id);
    const mac = good["webhook-signature"]!.slice(3);
    const results = [];
    for (const signature of [V1A, `v1a,${mac}`, `v2,${mac}`, `${V1A} v2,${mac} ${good["webhook-signature"]}`]) {
      const { status, line } = await send(SOURCE, body, { ...good, "webhook-signature": signature });
      results.push([status, line?.reason ?? line?.outcome]);
    }
    expect(results).toEqual([
      [401, "malformed_signature"],
      [401, "malformed_signature"],
      [401, "malformed_signature"],
      [200, "accepted"],
    ]);
  });

  it("malformed or missing headers → 401 with the reason in the log line, nothing stored", async () => {
    const account = customer();
    const body = invoice(account);
    const good = signed(body, [NEW], messageId());
    const without = (name: string) => Object.fromEntries(Object.entries(good).filter(([k]) => k !== name));
    const cases: [Record<string, string>, string][] = [
      [without("webhook-id"), "missing_signature"],
      [without("webhook-timestamp"), "missing_signature"],
      [without("webhook-signature"), "missing_signature"],
      [{ ...good, "webhook-id": "" }, "missing_signature"],
      [{ ...good, "webhook-timestamp": "soon" }, "malformed_signature"],
      [{ ...good, "webhook-timestamp": `${good["webhook-timestamp"]}.5` }, "malformed_signature"],
      [{ ...good, "webhook-signature": "v1,%%%" }, "malformed_signature"],
      [{ ...good, "webhook-signature": `v1,${btoa("thirty-one bytes, not thirty-2")}` }, "malformed_signature"],
      [{ ...good, "webhook-signature": good["webhook-signature"]!.replace("v1,", "") }, "malformed_signature"],
    ];
    for (const [headers, reason] of cases) {
      const { status, text, line } = await send(SOURCE, body, headers);
      expect([status, text, line?.reason, line?.level]).toEqual([401, '{"error":"unauthorized"}', reason, "info"]);
    }
    expect(await storedEvents(SOURCE, account)).toEqual([]);
  });

  it("a configured secret that is not whsec_ + base64 is a configuration fault, named by position, never by value", async () => {
    const body = invoice("c1");
    const keys = { secrets: ["whsec_%%%", NEW], named: new Map<string, string>(), options: defaults };
    const at = Date.now();
    // The good secret still verifies what it signed; a request nothing verifies names the broken one.
    expect((await provider.verify(inbound(body, signed(body, [NEW], "msg_1", at), at), keys)).ok).toBe(true);
    const refused = await provider.verify(inbound(body, signed(body, [OLD], "msg_1", at), at), keys);
    expect(refused).toEqual({
      ok: false,
      reason: "bad_signature",
      config: "secret 1 of 2 is not a Standard Webhooks secret (whsec_ + standard base64)",
    });
  });
});

describe("identity: dedupe on webhook-id", () => {
  it("the same webhook-id with a fresh timestamp and signature is a duplicate: one stored event, one delivery", async () => {
    const account = customer();
    const body = invoice(account);
    const id = messageId();
    const first = await send(SOURCE, body, signed(body, [NEW], id, Date.now() - 120_000));
    const retry = await send(SOURCE, body, signed(body, [OLD], id));
    expect([first.status, first.line?.outcome, retry.status, retry.line?.outcome]).toEqual([200, "accepted", 200, "duplicate"]);
    const expected = await eventId(SOURCE, account, id);
    expect([first.line?.eventId, retry.line?.eventId]).toEqual([expected, expected]);
    expect((await storedEvents(SOURCE, account)).map((row) => row.id)).toEqual([expected]);
    await drain(SOURCE, account);
    const delivered = await originEvents(account);
    expect(delivered.map((event) => event.id)).toEqual([expected]);
    const event = delivered[0]!.json as unknown as Record<string, unknown>;
    expect(event).toMatchObject({
      id: expected,
      type: "payment.updated",
      subject: account,
      provider: "standard-webhooks",
      time: "2025-06-02T10:15:00.000Z",
      data: { status: "succeeded", providerStatus: "invoice.paid", messageId: id, payload: JSON.parse(body) },
    });
  });

  it("property: one webhook-id is one event whatever its timestamps, signatures and secrets; different ids are different events", async () => {
    const attempt = fc.record({
      ago: fc.integer({ min: 0, max: 280 }),
      secrets: fc.constantFrom([NEW], [OLD], [NEW, OLD], [REMOVED, OLD], [V1A, NEW]),
    });
    const messages = fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9_-]{1,24}$/), { minLength: 1, maxLength: 3 });
    await fc.assert(
      fc.asyncProperty(
        messages,
        fc.array(fc.array(attempt, { minLength: 1, maxLength: 3 }), { minLength: 3, maxLength: 3 }),
        async (ids, plans) => {
          const account = customer();
          // Every message has the same body: only webhook-id tells them apart.
          const body = invoice(account);
          for (const [i, id] of ids.entries()) {
            for (const { ago, secrets } of plans[i]!) {
              const headers = signed(
                body,
                secrets.filter((s) => s !== V1A),
                id,
                Date.now() - ago * 1000,
              );
              if (secrets.includes(V1A)) headers["webhook-signature"] = `${V1A} ${headers["webhook-signature"]}`;
              const { status } = await send(SOURCE, body, headers);
              expect(status).toBe(200);
            }
          }
          const stored = (await storedEvents(SOURCE, account)).map((row) => row.id).sort();
          const expected = (await Promise.all(ids.map((id) => eventId(SOURCE, account, id)))).sort();
          expect(stored).toEqual(expected);
          expect(new Set(stored).size).toBe(ids.length);
        },
      ),
      { numRuns: 15 },
    );
  });
});

describe("account", () => {
  it("reads a numeric account exactly as sent, and a string with escapes decoded", async () => {
    const digits = `${uniqueAccount()}12345678901234567890`;
    const escaped = `cus_${uniqueAccount()}`;
    for (const [text, account] of [
      [`{"type":"user.created","data":{"customer_id":${digits}}}`, digits],
      [`{"type":"user.created","data":{"customer_id":"\\u0063${escaped.slice(1)}"}}`, escaped],
    ] as const) {
      const id = messageId();
      const { status, line } = await send(SOURCE, text, signed(text, [NEW], id));
      expect([status, line?.outcome, line?.eventId]).toEqual([200, "accepted", await eventId(SOURCE, account, id)]);
      expect(await storedEvents(SOURCE, account)).toHaveLength(1);
    }
  });

  it("a pointer that names no string or number → acked, quarantined with the reason and the bytes; kept per webhook-id", async () => {
    const probe = uniqueAccount();
    const cases: [string, string][] = [
      [`{"type":"x","probe":${probe},"data":{"id":"a"}}`, 'no member "customer_id" in /data'],
      [`{"type":"x","probe":${probe},"data":{"customer_id":true}}`, "it names a boolean, not a string or number"],
      [`{"type":"x","probe":${probe},"data":{"customer_id":{"id":1}}}`, "it names an object, not a string or number"],
      [`{"type":"x","probe":${probe},"data":[{"customer_id":"c"}]}`, "/data is not an object"],
      [`[${probe}]`, "the body is not an object"],
    ];
    const before = await storedEvents(SOURCE, QUARANTINE_ACCOUNT);
    for (const [text, why] of cases) {
      const { status, text: reply, line } = await send(SOURCE, text, signed(text, [NEW], messageId()));
      expect([status, reply, line?.outcome, line?.reason]).toEqual([
        200,
        '{"received":true}',
        "quarantined",
        `accountPointer /data/customer_id names no account: ${why}`,
      ]);
      expect(await quarantinedText(SOURCE, String(line?.eventId))).toBe(text);
    }
    // The same body under another webhook-id is another message: kept too; a retry of one is not.
    const [text] = cases[0]!;
    const id = messageId();
    const again = [await send(SOURCE, text, signed(text, [NEW], id)), await send(SOURCE, text, signed(text, [OLD], id))];
    expect(again.map((r) => r.line?.duplicate)).toEqual([false, true]);
    expect(newRows(before, await storedEvents(SOURCE, QUARANTINE_ACCOUNT))).toHaveLength(cases.length + 1);
  });

  it("without accountPointer, one account for the whole source", async () => {
    const body = invoice(customer());
    const id = messageId();
    const { status, line } = await send(DEFAULT_SOURCE, body, signed(body, [NEW], id));
    expect([status, line?.eventId]).toEqual([200, await eventId(DEFAULT_SOURCE, DEFAULT_ACCOUNT, id)]);
    expect((await storedEvents(DEFAULT_SOURCE, DEFAULT_ACCOUNT)).map((row) => row.id)).toContain(line?.eventId);
  });
});

describe("types", () => {
  /** The stored CloudEvent of a message sent to a source. */
  async function stored(source: string, account: string, text: string, at = Date.now()) {
    const id = messageId();
    const { status, line } = await send(source, text, signed(text, [NEW], id, at));
    expect(status).toBe(200);
    const row = (await storedEvents(source, account)).find((r) => r.id === line?.eventId);
    return { id, body: row!.body!, event: JSON.parse(row!.body!) as { type: string; time: string; data: Record<string, unknown> } };
  }

  it("unmapped: webhook.received with the sender's type and message id, the payload as sent", async () => {
    const text = '{"type":"contact.created","timestamp":"2022-11-03T20:26:10.344522Z","data":{"n":1.10}}';
    const { id, body, event } = await stored(DEFAULT_SOURCE, DEFAULT_ACCOUNT, text);
    expect(event.type).toBe("webhook.received");
    expect(event.time).toBe("2022-11-03T20:26:10.344Z");
    expect(event.data).toEqual({ eventType: "contact.created", messageId: id, payload: JSON.parse(text) });
    expect(body).toContain('"payload":{"type":"contact.created","timestamp":"2022-11-03T20:26:10.344522Z","data":{"n":1.10}}');
  });

  it("no type member, or one that is not a string: webhook.received without eventType; a bad timestamp: receipt time", async () => {
    for (const text of ['{"data":{"a":1}}', '{"type":7,"timestamp":"yesterday"}']) {
      const before = Date.now();
      const { id, event } = await stored(DEFAULT_SOURCE, DEFAULT_ACCOUNT, text);
      expect(event.data).toEqual({ messageId: id, payload: JSON.parse(text) });
      expect(Date.parse(event.time)).toBeGreaterThanOrEqual(before - 1);
    }
  });

  it("mapped: the source's gateway type and status, the sender's type as providerStatus; other types stay generic", async () => {
    const account = customer();
    const paid = await stored(SOURCE, account, invoice(account));
    expect(paid.event).toMatchObject({
      type: "payment.updated",
      data: { status: "succeeded", providerStatus: "invoice.paid", messageId: paid.id },
    });
    const other = await stored(SOURCE, account, invoice(account, "invoice.created"));
    expect(other.event).toMatchObject({ type: "webhook.received", data: { eventType: "invoice.created", messageId: other.id } });
  });

  it("re-processing reads the webhook-id kept with the body; a callback kept without it (before it was stored) stays quarantined", () => {
    // What the operators' re-process runs (src/admin.ts) after, say, accountPointer was fixed;
    // end to end in test/quarantine-reprocess.test.ts.
    const loaded = parseConfig({
      ORIGIN_URL: "https://origin.example.com/hooks",
      ORIGIN_SECRET: TEST_SECRETS.ORIGIN_SECRET,
      S: NEW,
      SOURCES: { sw: { provider: "standard-webhooks", secrets: ["S"], accountPointer: "/account" } },
    });
    const source = loaded.ok ? loaded.config.sources.get("sw")! : undefined;
    const bytes = utf8('{"type":"x","account":"a1"}');
    expect(parseVerified(source!, bytes, { "webhook-id": "msg_1" })).toMatchObject({ kind: "event", normalized: { accountKey: "a1" } });
    expect(parseVerified(source!, bytes)).toEqual({
      kind: "quarantine",
      reason: "unmapped: no webhook-id (kept before the quarantine stored signed headers; have the sender resend the message)",
    });
  });
});

describe("reply and options", () => {
  it('answers 200 application/json {"received":true}', async () => {
    const body = invoice(customer());
    expect(await send(SOURCE, body, signed(body, [NEW], messageId()))).toMatchObject({
      status: 200,
      text: '{"received":true}',
      contentType: "application/json",
    });
  });

  const base = { ORIGIN_URL: "https://origin.example.com/hooks", ORIGIN_SECRET: TEST_SECRETS.ORIGIN_SECRET, S: NEW };
  const errorsOf = (options: Record<string, unknown>) => {
    const result = parseConfig({ ...base, SOURCES: { sw: { provider: "standard-webhooks", secrets: ["S"], ...options } } });
    return result.ok ? [] : result.errors;
  };

  it("accepts the documented options", () => {
    expect(
      errorsOf({
        toleranceSeconds: 600,
        accountPointer: "/data/a~1b~0c",
        typePointer: "/event",
        types: {
          "invoice.paid": { type: "payment.updated", status: "succeeded" },
          "user.banned": { type: "customer.updated", status: "suspended" },
        },
      }),
    ).toEqual([]);
  });

  it.each([
    [
      { types: { "invoice.paid": "payment.updated" } },
      'SOURCES.sw.types.invoice.paid: payment.updated needs the status its events have: write {"type": "payment.updated", "status": "pending" | "processing" | "succeeded" | "failed" | "cancelled" | "rejected" | "expired"}',
    ],
    [
      { types: { x: { type: "customer.updated", status: "succeeded" } } },
      'SOURCES.sw.types.x: status of customer.updated must be "pending" | "action_required" | "active" | "rejected" | "suspended" | "closed"',
    ],
    [
      { types: { x: { type: "webhook.received", status: "pending" } } },
      'SOURCES.sw.types.x: type: "webhook.received" is not a gateway type other than webhook.received',
    ],
    [{ types: { x: "webhook.received" } }, "SOURCES.sw.types.x: every type left out is webhook.received: leave this one out"],
    [
      { types: { x: { type: "payment.updated", status: "paid", amount: "/data/amount" } } },
      'SOURCES.sw.types.x: only "type" and "status" (not amount)',
    ],
    [
      { accountPointer: "data/customer_id" },
      'SOURCES.sw.accountPointer: must be a JSON pointer (RFC 6901) to a member, e.g. "/data/customer_id"',
    ],
    [{ typePointer: "/a~2" }, 'SOURCES.sw.typePointer: must be a JSON pointer (RFC 6901) to a member, e.g. "/data/customer_id"'],
    [{ toleranceSeconds: 1801 }, "SOURCES.sw.toleranceSeconds: Invalid value: Expected <=1800 but received 1801"],
    [{ windowSeconds: 60 }, 'SOURCES.sw.windowSeconds: Invalid key: Expected never but received "windowSeconds"'],
  ])("refuses %j", (options, error) => {
    const errors = errorsOf(options);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(error);
  });
});
