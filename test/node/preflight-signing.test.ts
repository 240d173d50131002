/**
 * `npm run preflight` (scripts/preflight.mjs) on the signing and destination settings: the secrets
 * each source signs with (its own `originSecret` / `originSigningKey`, or ORIGIN_SECRET unless
 * ORIGIN_SIGNING_KEY is set), and the mTLS certificate binding a source names, which must be an
 * `[[mtls_certificates]]` binding of the configuration.
 */
import { describe, expect, it } from "vitest";
import { checkConfig } from "../../scripts/preflight.mjs";

const base = { kv_namespaces: [], workers_dev: true };
const killb = { provider: "killb", secrets: ["K"] };
const check = (sources: Record<string, unknown>, extra: Record<string, unknown> = {}, secretNames?: string[]) =>
  checkConfig(
    { ...base, vars: { ORIGIN_URL: "https://o.acme-pay.io/h", SOURCES: sources }, ...extra },
    secretNames === undefined ? {} : { secretNames },
  );

describe("preflight: signing secrets", () => {
  it("names each source's own signing secrets, and ORIGIN_SECRET only when a source relies on the defaults", () => {
    expect(check({ a: { ...killb, originSecret: ["S_NEW", "S_OLD"], originSigningKey: "SK" } }).secrets).toEqual([
      "ADMIN_TOKEN",
      "K",
      "S_NEW",
      "S_OLD",
      "SK",
    ]);
    expect(check({ a: { ...killb, originSigningKey: "SK" }, b: killb }).secrets).toEqual(["ORIGIN_SECRET", "ADMIN_TOKEN", "K", "SK"]);
  });

  it("takes ORIGIN_SIGNING_KEY set on the Worker in place of ORIGIN_SECRET", () => {
    expect(check({ b: killb }, {}, ["ADMIN_TOKEN", "K", "ORIGIN_SIGNING_KEY"]).problems).toEqual([]);
    expect(check({ b: killb }, {}, ["ADMIN_TOKEN", "K"]).problems).toEqual([
      "secret ORIGIN_SECRET is not set: `npx wrangler secret put ORIGIN_SECRET` (or ORIGIN_SIGNING_KEY for v1a signatures: docs/configuration.md)",
    ]);
    expect(check({ a: { ...killb, originSigningKey: "SK" } }, {}, ["ADMIN_TOKEN", "K"]).problems).toEqual([
      "secret SK is not set: `npx wrangler secret put SK`",
    ]);
  });

  it("fails on a certificate binding the configuration does not declare", () => {
    const mtls = { mtls_certificates: [{ binding: "ORIGIN_CERT", certificate_id: "c0ffee00-0000-4000-8000-000000000001" }] };
    expect(check({ a: { ...killb, originCertificate: "ORIGIN_CERT" } }, mtls).problems).toEqual([]);
    expect(check({ a: { ...killb, originCertificate: "OTHER_CERT" } }, mtls).problems).toEqual([
      "source a's originCertificate names OTHER_CERT, which is not an [[mtls_certificates]] binding: `npx wrangler mtls-certificate upload` and declare it (docs/deploy.md)",
    ]);
  });
});
