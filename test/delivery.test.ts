import { describe, expect, it } from "vitest";
import { classifyStatus, RETRY, retryAfterMs, retryDelayMs } from "../src/delivery";

describe("classifyStatus", () => {
  it.each([
    [200, "delivered"],
    [204, "delivered"],
    [408, "retry"],
    [429, "retry"],
    [500, "retry"],
    [503, "retry"],
    [400, "rejected"],
    [401, "rejected"],
    [404, "rejected"],
    [410, "rejected"],
    [302, "retry"],
  ] as const)("%i → %s", (status, kind) => {
    expect(classifyStatus(status)).toBe(kind);
  });
});

describe("retry schedule", () => {
  it("doubles from 30 s, capped at 8 h, jittered ±20 %", () => {
    expect(retryDelayMs(1, 0.5)).toBe(30_000);
    expect(retryDelayMs(2, 0.5)).toBe(60_000);
    expect(retryDelayMs(1, 0)).toBe(24_000);
    expect(retryDelayMs(1, 0.999999)).toBeLessThanOrEqual(36_000);
    expect(retryDelayMs(14, 0.5)).toBe(8 * 3_600_000); // the documented cap, not the constant under test
  });

  it("spans about two days, then gives up", () => {
    let total = 0;
    for (let attempt = 1; attempt < RETRY.maxAttempts; attempt++) total += retryDelayMs(attempt, 0.5) ?? 0;
    expect(total / 3_600_000).toBeCloseTo(48.5, 0);
    expect(retryDelayMs(RETRY.maxAttempts, 0.5)).toBeUndefined();
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    expect(retryAfterMs("120", 0)).toBe(120_000);
    expect(retryAfterMs(new Date(90_000).toUTCString(), 30_000)).toBe(60_000);
    expect(retryAfterMs("soon", 0)).toBeUndefined();
    expect(retryAfterMs(null, 0)).toBeUndefined();
  });
});
