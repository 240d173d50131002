/**
 * The settings of the operator API's authentication (docs/configuration.md): the read-only
 * token, the session lifetime and Cloudflare Access, validated like every other setting, with
 * errors that name the field and never a secret's value.
 */
import { describe, expect, it } from "vitest";
import { parseConfig } from "../src/config";

const base = {
  ORIGIN_URL: "https://origin.example.com/hooks",
  ORIGIN_SECRET: "whsec_dGVzdC1vcmlnaW4tc2VjcmV0LWZvci10ZXN0cy1vbmx5",
  SOURCES: { pay: { provider: "cybavo", secrets: ["CYBAVO_KEY"] } },
  CYBAVO_KEY: "s3cr3t-value-1",
  ADMIN_TOKEN: "admin-token-0123456789",
};

function errorsOf(env: Record<string, unknown>): string[] {
  const result = parseConfig(env);
  return result.ok ? [] : result.errors;
}

describe("authentication settings", () => {
  it("defaults: no read token, sessions of an hour, no Access", () => {
    const result = parseConfig(base);
    expect(result.ok && result.config.auth).toEqual({ adminToken: base.ADMIN_TOKEN, sessionTtlSeconds: 3600 });
  });

  it("reads the read-only token, the session lifetime and Access (trailing slash dropped)", () => {
    const result = parseConfig({
      ...base,
      ADMIN_READ_TOKEN: "read-token-0123456789",
      SESSION_TTL_SECONDS: "900",
      ACCESS_TEAM_DOMAIN: "https://myteam.cloudflareaccess.com/",
      ACCESS_AUD: "4714c1358e65fe4b408ad6d432a5f878",
    });
    expect(result.ok && result.config.auth).toEqual({
      adminToken: base.ADMIN_TOKEN,
      readToken: "read-token-0123456789",
      sessionTtlSeconds: 900,
      access: { teamDomain: "https://myteam.cloudflareaccess.com", audience: "4714c1358e65fe4b408ad6d432a5f878" },
    });
  });

  it.each([
    [{ SESSION_TTL_SECONDS: "soon" }, "SESSION_TTL_SECONDS: must be a positive integer"],
    [{ SESSION_TTL_SECONDS: "59" }, "SESSION_TTL_SECONDS: must be between 60 and 86400 (a day)"],
    [{ SESSION_TTL_SECONDS: "86401" }, "SESSION_TTL_SECONDS: must be between 60 and 86400 (a day)"],
    [{ ADMIN_READ_TOKEN: "short" }, "ADMIN_READ_TOKEN: must be at least 16 characters"],
    [{ ADMIN_READ_TOKEN: base.ADMIN_TOKEN }, "ADMIN_READ_TOKEN: must differ from ADMIN_TOKEN"],
    [
      { ADMIN_TOKEN: "", ADMIN_READ_TOKEN: "read-token-0123456789" },
      "ADMIN_READ_TOKEN: needs ADMIN_TOKEN (sessions are signed with a key derived from it)",
    ],
    [{ ACCESS_TEAM_DOMAIN: "https://myteam.cloudflareaccess.com" }, "ACCESS_AUD: set both ACCESS_TEAM_DOMAIN and ACCESS_AUD, or neither"],
    [{ ACCESS_AUD: "4714c1358e65fe4b" }, "ACCESS_TEAM_DOMAIN: set both ACCESS_TEAM_DOMAIN and ACCESS_AUD, or neither"],
    [
      { ACCESS_TEAM_DOMAIN: "http://myteam.cloudflareaccess.com", ACCESS_AUD: "x" },
      "ACCESS_TEAM_DOMAIN: must be an https URL such as https://myteam.cloudflareaccess.com (http only for localhost)",
    ],
    [
      { ACCESS_TEAM_DOMAIN: "myteam.cloudflareaccess.com", ACCESS_AUD: "x" },
      "ACCESS_TEAM_DOMAIN: must be an https URL such as https://myteam.cloudflareaccess.com (http only for localhost)",
    ],
    [
      { ACCESS_TEAM_DOMAIN: "https://myteam.cloudflareaccess.com/?x=1", ACCESS_AUD: "x" },
      "ACCESS_TEAM_DOMAIN: must be an https URL such as https://myteam.cloudflareaccess.com (http only for localhost)",
    ],
  ])("%j → %s", (settings, error) => {
    expect(errorsOf({ ...base, ...settings })).toEqual([error]);
  });

  it("an error never carries a token's value", () => {
    const errors = errorsOf({ ...base, ADMIN_READ_TOKEN: "short-secret", SESSION_TTL_SECONDS: "0" });
    expect(errors).toHaveLength(2);
    expect(errors.join("\n")).not.toContain("short-secret");
    expect(errors.join("\n")).not.toContain(base.ADMIN_TOKEN);
  });

  it("an invalid configuration keeps the valid authentication settings (GET /admin/health and Access still work)", () => {
    const result = parseConfig({
      ...base,
      SOURCES: "{",
      ADMIN_READ_TOKEN: "read-token-0123456789",
      ACCESS_TEAM_DOMAIN: "https://myteam.cloudflareaccess.com",
      ACCESS_AUD: "aud",
    });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.auth).toEqual({
      adminToken: base.ADMIN_TOKEN,
      readToken: "read-token-0123456789",
      sessionTtlSeconds: 3600,
      access: { teamDomain: "https://myteam.cloudflareaccess.com", audience: "aud" },
    });
    // Access half set: marked invalid, so the gate fails closed instead of opening.
    const half = parseConfig({ ...base, ACCESS_AUD: "aud" });
    expect(!half.ok && half.auth.access).toBe("invalid");
  });
});
