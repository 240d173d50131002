/** The portable verification suite inside workerd, plus MD5: native (Workers) and fallback agree. */
import { describe, expect, it } from "vitest";
import { utf8 } from "../../src/verify/crypto";
import * as api from "../../src/verify/index";
import { md5 } from "../../src/verify/md5";
import vectors from "../fixtures/vectors.json" with { type: "json" };
import { PLANNED_CHECKS, runSuite } from "./suite";

describe("webhook-gateway/verify in workerd", () => {
  it("passes the whole suite", async () => {
    const results = await runSuite(api);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results).toHaveLength(PLANNED_CHECKS);
    expect(new Set(results.map((r) => r.name)).size).toBe(PLANNED_CHECKS);
  });
});

describe("MD5", () => {
  const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  const native = async (data: Uint8Array) => hex(new Uint8Array(await crypto.subtle.digest("MD5", data as Uint8Array<ArrayBuffer>)));

  it("matches RFC 1321's test suite", () => {
    const suite: [string, string][] = [
      ["", "d41d8cd98f00b204e9800998ecf8427e"],
      ["a", "0cc175b9c0f1b6a831c399e269772661"],
      ["abc", "900150983cd24fb0d6963f7d28e17f72"],
      ["message digest", "f96b697d7cb7938d525a2f31aaf161d0"],
      ["abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"],
      ["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"],
      ["12345678901234567890123456789012345678901234567890123456789012345678901234567890", "57edf4a22be3c955ac49da2e2107b67a"],
    ];
    for (const [input, digest] of suite) expect(hex(md5(utf8(input)))).toBe(digest);
  });

  it("agrees with the runtime's native MD5 on the Cregis vectors and on every length up to 300", async () => {
    for (const v of vectors.cregis) expect(hex(md5(utf8(v.apiKey + v.body)))).toBe(await native(utf8(v.apiKey + v.body)));
    for (let length = 0; length <= 300; length++) {
      const data = crypto.getRandomValues(new Uint8Array(length));
      expect(hex(md5(data))).toBe(await native(data));
    }
  });
});
