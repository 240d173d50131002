/**
 * src/verify/standard-webhooks.ts against the Standard Webhooks spec (spec/standard-webhooks.md,
 * "Verifying webhook authenticity"), with the official `standardwebhooks` package (v1.1.1) as the
 * independent signer and, where the spec leaves room, as the reference behaviour: a secret with
 * or without `whsec_`, several space-separated signatures of which any may match, unknown version
 * tags (`v1a`) ignored, the timestamp within 5 minutes either way counted in whole seconds, and
 * every malformed header a refusal, never an exception.
 */
import fc from "fast-check";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { utf8 } from "../../src/verify/crypto";
import { secretKey, verifyStandardWebhook } from "../../src/verify/standard-webhooks";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OTHER = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24tMjQ=";
const BODY = '{"type":"invoice.paid","data":{"id":"in_1"}}';
const T = 1_763_800_000;

/** The three headers as the official library signs them. */
function official(secret: string, id: string, timestamp: number, body = BODY) {
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": new Webhook(secret).sign(id, new Date(timestamp * 1000), body),
  };
}

/** Whether the official library accepts the request at `now` (Unix ms). */
function officialAccepts(secret: string, headers: Record<string, string>, now: number, body = BODY): boolean {
  const realNow = Date.now;
  Date.now = () => now;
  try {
    new Webhook(secret).verify(body, headers, { jsonParse: false });
    return true;
  } catch {
    // The library throws WebhookVerificationError for every refusal: that is its answer.
    return false;
  } finally {
    Date.now = realNow;
  }
}

const ours = (headers: Record<string, string>, secrets: readonly string[], now: number, body: string | Uint8Array = BODY) =>
  verifyStandardWebhook({
    body: typeof body === "string" ? utf8(body) : (body as Uint8Array<ArrayBuffer>),
    headers: new Headers(headers),
    secrets,
    now,
  });

describe("Standard Webhooks verification (src/verify/standard-webhooks.ts)", () => {
  it("accepts a secret with or without whsec_, as the official libraries do", async () => {
    const headers = official(SECRET, "msg_1", T);
    expect(await ours(headers, [SECRET], T * 1000)).toEqual({ ok: true });
    expect(await ours(headers, [SECRET.slice("whsec_".length)], T * 1000)).toEqual({ ok: true });
    expect(officialAccepts(SECRET.slice("whsec_".length), headers, T * 1000)).toBe(true);
    expect(secretKey("whsec_")).toBeUndefined();
    expect(secretKey("whsec_not base64!")).toBeUndefined();
    expect(secretKey("")).toBeUndefined();
  });

  it("accepts any matching v1 signature among several, ignores v1a and unknown tags, refuses when none matches", async () => {
    const good = official(SECRET, "msg_2", T);
    const other = official(OTHER, "msg_2", T)["webhook-signature"];
    const ed25519 = "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==";
    const header = (signature: string) => ({ ...good, "webhook-signature": signature });
    for (const signature of [
      `${other} ${good["webhook-signature"]}`,
      `${ed25519} ${good["webhook-signature"]}`,
      `v2,${good["webhook-signature"].slice(3)} ${good["webhook-signature"]}`,
      `  ${good["webhook-signature"]}  ${other}`,
    ]) {
      expect(await ours(header(signature), [SECRET], T * 1000), signature).toEqual({ ok: true });
      expect(officialAccepts(SECRET, header(signature), T * 1000), signature).toBe(true);
    }
    // The v1a signature carries the right bytes under a tag we do not check: ignored, not taken.
    expect(await ours(header(`v1a,${good["webhook-signature"].slice(3)}`), [SECRET], T * 1000)).toEqual({
      ok: false,
      reason: "malformed_signature",
    });
    expect(await ours(header(other), [SECRET], T * 1000)).toEqual({ ok: false, reason: "bad_signature" });
  });

  it("counts the window in whole seconds, 5 minutes either way, as the official library does", async () => {
    const cases: [number, number, boolean][] = [
      [T - 300, T * 1000 + 999, true],
      [T - 301, T * 1000, false],
      [T + 300, T * 1000, true],
      [T + 301, T * 1000 + 999, false],
    ];
    for (const [timestamp, now, accepted] of cases) {
      const headers = official(SECRET, "msg_3", timestamp);
      expect(officialAccepts(SECRET, headers, now), `official ${timestamp} at ${now}`).toBe(accepted);
      expect(await ours(headers, [SECRET], now), `ours ${timestamp} at ${now}`).toEqual(
        accepted ? { ok: true } : { ok: false, reason: "stale_timestamp" },
      );
    }
  });

  it("refuses malformed headers with a reason, never an exception", async () => {
    const good = official(SECRET, "msg_4", T);
    const refused: [Record<string, string>, string][] = [
      [{ ...good, "webhook-id": "" }, "missing_signature"],
      [{ ...good, "webhook-signature": "" }, "missing_signature"],
      [{ "webhook-timestamp": good["webhook-timestamp"], "webhook-signature": good["webhook-signature"] }, "missing_signature"],
      [{ ...good, "webhook-timestamp": `0${T}` }, "malformed_signature"],
      [{ ...good, "webhook-timestamp": `${T}.0` }, "malformed_signature"],
      [{ ...good, "webhook-timestamp": "-1" }, "malformed_signature"],
      [{ ...good, "webhook-signature": "v1," }, "malformed_signature"],
      [{ ...good, "webhook-signature": "v1,%%%" }, "malformed_signature"],
      [{ ...good, "webhook-signature": `${good["webhook-signature"]},x` }, "malformed_signature"],
      [{ ...good, "webhook-signature": good["webhook-signature"].slice(3) }, "malformed_signature"],
    ];
    for (const [headers, reason] of refused)
      expect(await ours(headers, [SECRET], T * 1000), JSON.stringify(headers)).toEqual({ ok: false, reason });
    expect(await ours(good, ["whsec_%%%"], T * 1000)).toEqual({ ok: false, reason: "no_secret" });
    expect(await ours(good, [], T * 1000)).toEqual({ ok: false, reason: "no_secret" });
  });

  it("signs the raw bytes: a body that is not UTF-8 verifies only with its own signature", async () => {
    const bytes = new Uint8Array([0x7b, 0xff, 0x7d]);
    const good = official(SECRET, "msg_5", T, "{\ufffd}");
    // The official library can only sign text; the replacement character's bytes differ from 0xff.
    expect(await ours(good, [SECRET], T * 1000, bytes)).toEqual({ ok: false, reason: "bad_signature" });
  });

  it("agrees with the official library on any id, timestamp offset and body (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 40 }).filter((id) => id.trim() === id && !/[\0\r\n,]/.test(id)),
        fc.integer({ min: -400, max: 400 }),
        fc.string({ maxLength: 60 }),
        async (id, offset, body) => {
          const headers = official(SECRET, id, T + offset, body);
          const expected = officialAccepts(SECRET, headers, T * 1000, body);
          expect((await ours(headers, [SECRET], T * 1000, body)).ok).toBe(expected);
          expect(expected).toBe(Math.abs(offset) <= 300);
        },
      ),
      { numRuns: 200 },
    );
  });
});
