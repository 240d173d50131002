import { describe, expect, it } from "vitest";
import { fromBase64, fromBase64UrlPadded, fromHex, timingSafeEqual, toBase64, toBase64UrlPadded, toHex, utf8 } from "../src/verify/crypto";
import { signStandardWebhook } from "../src/verify/standard-webhooks";
import vectors from "./fixtures/vectors.json" with { type: "json" };

describe("encodings", () => {
  it("round-trip", () => {
    const bytes = new Uint8Array([0, 1, 127, 128, 250, 255]);
    expect(fromHex(toHex(bytes))).toEqual(bytes);
    expect(fromBase64(toBase64(bytes))).toEqual(bytes);
    expect(fromBase64UrlPadded(toBase64UrlPadded(bytes))).toEqual(bytes);
  });

  it("decoders return undefined instead of throwing", () => {
    for (const bad of ["abc", "zz", "0x00"]) expect(fromHex(bad)).toBeUndefined();
    for (const bad of ["abc", "ab=c", "a-b_", "====", "YQ"]) expect(fromBase64(bad)).toBeUndefined();
    expect(fromBase64UrlPadded("ab+/")).toBeUndefined();
  });

  it("refuses non-canonical base64 whose unused bits differ (a changed signature must not decode equal)", () => {
    expect(fromBase64("YQ==")).toEqual(utf8("a"));
    expect(fromBase64("YR==")).toBeUndefined();
  });
});

describe("timingSafeEqual", () => {
  it("compares bytes", () => {
    expect(timingSafeEqual(utf8("abc"), utf8("abc"))).toBe(true);
    expect(timingSafeEqual(utf8("abc"), utf8("abd"))).toBe(false);
    expect(timingSafeEqual(utf8("abc"), utf8("abcd"))).toBe(false);
  });
});

describe("Standard Webhooks signer", () => {
  for (const vector of vectors["standard-webhooks"]) {
    it(`matches the published vector: ${vector.name}`, async () => {
      const secret = fromBase64(vector.secret.slice("whsec_".length));
      expect(secret).toBeDefined();
      expect(await signStandardWebhook(secret!, vector.id, Number(vector.timestamp), vector.body)).toBe(vector.expectedSignature);
    });
  }
});

describe("ORIGIN_SECRET rotation", () => {
  it("signs with every origin secret, so an origin on either the new or the old secret verifies", async () => {
    const { Webhook } = await import("standardwebhooks");
    const { signatureHeader } = await import("../src/verify/standard-webhooks");
    const { TEST_SECRETS } = await import("./support/test-config");
    const keys = [TEST_SECRETS.ORIGIN_SECRET, TEST_SECRETS.ORIGIN_SECRET_PREVIOUS].map((s) => fromBase64(s.slice("whsec_".length))!);
    const timestamp = Math.floor(Date.now() / 1000);
    const body = '{"specversion":"1.0"}';
    const headers = {
      "webhook-id": "evt_x",
      "webhook-timestamp": String(timestamp),
      "webhook-signature": await signatureHeader({ hmac: keys, ed25519: [] }, "evt_x", timestamp, body),
    };
    expect(headers["webhook-signature"].split(" ")).toHaveLength(2);
    for (const secret of [TEST_SECRETS.ORIGIN_SECRET, TEST_SECRETS.ORIGIN_SECRET_PREVIOUS]) {
      expect(new Webhook(secret).verify(body, headers)).toEqual({ specversion: "1.0" });
    }
    expect(() => new Webhook("whsec_b3RoZXItc2VjcmV0LW5vdC1pbi11c2UtYW55d2hlcmU=").verify(body, headers)).toThrow();
  });
});
