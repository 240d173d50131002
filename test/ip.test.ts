import { describe, expect, it } from "vitest";
import { ipAllowed, parseRange } from "../src/ip";
import { cybavoCallback, cybavoChecksum, post, postCybavo } from "./support/gateway";

describe("IP ranges", () => {
  const ranges = ["192.0.2.0/24", "198.51.100.7", "2001:db8::/32", "::ffff:203.0.113.0/120"].map((r) => parseRange(r)!);

  it.each([
    ["192.0.2.1", true],
    ["192.0.2.255", true],
    ["192.0.3.1", false],
    ["198.51.100.7", true],
    ["198.51.100.8", false],
    ["2001:db8::1", true],
    ["2001:0db8:ffff::1", true],
    ["2001:db9::1", false],
    ["203.0.113.9", true],
    ["::ffff:192.0.2.5", true],
    ["garbage", false],
    ["", false],
  ])("%s → %s", (ip, allowed) => {
    expect(ipAllowed(ranges, ip)).toBe(allowed);
  });

  it("refuses malformed entries", () => {
    for (const bad of ["1.2.3.4/33", "1.2.3", "300.1.1.1", "::1::2", "2001:db8::/129", "1.2.3.4/", "x/8"])
      expect(parseRange(bad)).toBeUndefined();
  });
});

describe("per-source allow-list", () => {
  it("accepts a signed callback from an allowed address, refuses others with 403 before verifying", async () => {
    const callback = cybavoCallback({ wallet_id: 4242 });
    expect((await postCybavo("cybavo-ip", callback, undefined, { "CF-Connecting-IP": "192.0.2.10" })).status).toBe(200);
    const outside = await postCybavo("cybavo-ip", callback, undefined, { "CF-Connecting-IP": "203.0.113.10" });
    expect(outside.status).toBe(403);
    expect(await outside.json()).toEqual({ error: "forbidden" });
    const body = JSON.stringify(callback);
    expect((await post("cybavo-ip", body, { "X-CHECKSUM": await cybavoChecksum(body) })).status).toBe(403);
    // The allow-list never replaces the signature.
    expect(
      (await post("cybavo-ip", body, { "X-CHECKSUM": await cybavoChecksum(body, "wrong"), "CF-Connecting-IP": "192.0.2.10" })).status,
    ).toBe(401);
  });
});
