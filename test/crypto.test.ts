import { describe, expect, it } from "vitest";
import { fromBase64, fromBase64UrlPadded, fromHex, timingSafeEqual, toBase64, toBase64UrlPadded, toHex, utf8 } from "../src/crypto";
import { signStandardWebhook } from "../src/delivery";
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
