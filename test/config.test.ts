import { describe, expect, it } from "vitest";
import { parseConfig } from "../src/config";
import { PROVIDER_NAMES } from "../src/providers/registry";
import { MAX_BODY_BYTES_LIMIT } from "../src/storage-limits";

const base = {
  ORIGIN_URL: "https://origin.example.com/hooks",
  ORIGIN_SECRET: "whsec_dGVzdC1vcmlnaW4tc2VjcmV0LWZvci10ZXN0cy1vbmx5",
  CYBAVO_KEY: "s3cr3t-value-1",
  W5: "s3cr3t-value-2",
};

function errorsOf(env: Record<string, unknown>): string[] {
  const result = parseConfig(env);
  return result.ok ? [] : result.errors;
}

describe("configuration", () => {
  it("accepts SOURCES as an object (TOML table) or as a JSON string", () => {
    const sources = { pay: { provider: "cybavo", secrets: ["CYBAVO_KEY"] } };
    for (const SOURCES of [sources, JSON.stringify(sources)]) {
      const result = parseConfig({ ...base, SOURCES });
      expect(result.ok).toBe(true);
      if (result.ok) expect(result.config.sources.get("pay")).toMatchObject({ secrets: ["s3cr3t-value-1"], originUrl: base.ORIGIN_URL });
    }
  });

  it("resolves per-wallet secret bindings and a per-source origin", () => {
    const result = parseConfig({
      ...base,
      SOURCES: { pay: { provider: "cybavo", walletSecrets: { "5": ["W5"] }, origin: "http://localhost:9000/x" } },
    });
    expect(result.ok && result.config.sources.get("pay")?.named.get("W5")).toBe("s3cr3t-value-2");
    expect(result.ok && result.config.sources.get("pay")?.originUrl).toBe("http://localhost:9000/x");
  });

  it.each([
    [{ SOURCES: "{" }, "SOURCES: is not valid JSON"],
    [{ SOURCES: [] }, "SOURCES: must be an object of sources"],
    [
      { SOURCES: { a: { provider: "paypal", secrets: ["CYBAVO_KEY"] } } },
      // Every registered provider, in registry order: a new provider is a new choice here.
      `SOURCES.a.provider: must be one of ${PROVIDER_NAMES.join(", ")}`,
    ],
    [
      { SOURCES: { a: { provider: "cybavo" } } },
      "SOURCES.a.secrets: at least one secret is required (a source never runs without verification)",
    ],
    [{ SOURCES: { a: { provider: "cybavo", secrets: ["NOPE"] } } }, "SOURCES.a.secrets: secret binding NOPE is not set"],
    [
      { SOURCES: { a: { provider: "cybavo", secrets: ["CYBAVO_KEY"], walletSecrets: { "5": ["NOPE"] } } } },
      "SOURCES.a: secret binding NOPE is not set",
    ],
    [
      { SOURCES: { a: { provider: "cybavo", secrets: ["CYBAVO_KEY"], walletSecret: {} } } },
      'SOURCES.a.walletSecret: Invalid key: Expected never but received "walletSecret"',
    ],
    [
      { SOURCES: { a: { provider: "cregis", secrets: ["CYBAVO_KEY"], nestedValues: "yes" } } },
      'SOURCES.a.nestedValues: Invalid type: Expected ("reject" | "canonical-json") but received "yes"',
    ],
    [
      { SOURCES: { a: { provider: "cybavo", secrets: ["CYBAVO_KEY"], origin: "http://origin.example.com" } } },
      "SOURCES.a.origin: must be https (http only for localhost)",
    ],
    [
      { SOURCES: { "a b": { provider: "cybavo", secrets: ["CYBAVO_KEY"] } } },
      "SOURCES.a b: source names are letters, digits, '-' and '_' (max 64)",
    ],
    [
      { SOURCES: { a: { provider: "coins", secrets: ["CYBAVO_KEY"] } } },
      "SOURCES.a.scheme: Coins does not publish its webhook signature; set rsa-sha256, hmac-sha256 or token as agreed with Coins (docs/providers/coins.md)",
    ],
    [{ SOURCES: { a: { provider: "coins", scheme: "rsa-sha256" } } }, "SOURCES.a.publicKey: required by the rsa-sha256 scheme"],
    [{ SOURCES: { a: { provider: "coins", scheme: "token" } } }, "SOURCES.a.secrets: the token scheme needs at least one secret"],
    [
      { SOURCES: { a: { provider: "killb" } } },
      "SOURCES.a.secrets: at least one secret is required (a source never runs without verification)",
    ],
    [
      { SOURCES: { a: { provider: "cabital", secrets: ["CYBAVO_KEY"], toleranceSeconds: 3600 } } },
      "SOURCES.a.toleranceSeconds: Invalid value: Expected <=1800 but received 3600",
    ],
    [
      { SOURCES: { a: { provider: "cybavo", secrets: ["CYBAVO_KEY"], ipAllowList: ["10.0.0.0/33"] } } },
      'SOURCES.a.ipAllowList.0: "10.0.0.0/33" is not an IP address or CIDR range',
    ],
    [
      { SOURCES: { a: { provider: "cybavo", secrets: ["CYBAVO_KEY"], ipAllowList: [] } } },
      "SOURCES.a.ipAllowList: must not be empty (leave it out to allow any address)",
    ],
    [{ SOURCES: {}, ORIGIN_SECRET: "plain" }, "ORIGIN_SECRET: must be whsec_ followed by standard base64 of at least 24 bytes"],
    [{ SOURCES: {}, MAX_BODY_BYTES: "-1" }, "MAX_BODY_BYTES: must be a positive integer"],
    [{ SOURCES: {}, EDGE_CACHE_TTL_SECONDS: "30" }, "EDGE_CACHE_TTL_SECONDS: must be at least 60 (the Workers KV minimum)"],
  ])("reports %j as a named error", (overrides, message) => {
    expect(errorsOf({ ...base, ...overrides })).toContain(message);
  });

  it("keeps idempotency keys 400 days by default (replays of unsigned-time callbacks stay duplicates)", () => {
    const result = parseConfig({ ...base, SOURCES: {} });
    expect(result.ok && result.config.retentionKeysSeconds).toBe(400 * 24 * 60 * 60);
    const shorter = parseConfig({ ...base, SOURCES: {}, RETENTION_KEYS_SECONDS: "2592000" });
    expect(shorter.ok && shorter.config.retentionKeysSeconds).toBe(2_592_000);
  });

  it("bounds MAX_BODY_BYTES by what one SQLite row can hold (docs/configuration.md)", () => {
    expect(MAX_BODY_BYTES_LIMIT).toBe(983_040);
    const atLimit = parseConfig({ ...base, SOURCES: {}, MAX_BODY_BYTES: "983040" });
    expect(atLimit.ok && atLimit.config.maxBodyBytes).toBe(983_040);
    for (const value of ["983041", "1200000", "2000000", 10_000_000]) {
      expect(errorsOf({ ...base, SOURCES: {}, MAX_BODY_BYTES: value })).toEqual([
        "MAX_BODY_BYTES: must be at most 983040 (960 KiB): a stored event holds its payload about twice, and a Durable Object's SQLite row holds at most 2,000,000 bytes",
      ]);
    }
  });

  it("never prints a secret value in an error", () => {
    const errors = errorsOf({
      ...base,
      ORIGIN_SECRET: "whsec_short",
      SOURCES: { a: { provider: "cybavo", secrets: ["CYBAVO_KEY", "NOPE"], origin: "ftp://x" } },
    });
    // Each bad setting named, so the check below reads every message that could quote a value.
    expect([...errors].sort()).toEqual(
      [
        "SOURCES.a.secrets: secret binding NOPE is not set",
        "SOURCES.a.origin: must be https (http only for localhost)",
        "ORIGIN_SECRET: must be whsec_ followed by standard base64 of at least 24 bytes",
      ].sort(),
    );
    for (const secret of [base.CYBAVO_KEY, "whsec_short"]) expect(errors.join("\n")).not.toContain(secret);
  });
});
