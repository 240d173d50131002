/**
 * Signing and destinations in the configuration (src/config.ts, src/signing-config.ts): each
 * source's keys (its own `originSecret` / `originSigningKey`, or the defaults ORIGIN_SECRET(+
 * _PREVIOUS) and ORIGIN_SIGNING_KEY(+ _PREVIOUS)), the mTLS certificate binding
 * (`originCertificate`), and the destinations they make: one per origin URL and certificate.
 * Errors name the field and the binding, never a value.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type GatewayConfig, parseConfig } from "../src/config";
import { destinationId } from "../src/destinations";
import { toBase64 } from "../src/verify/crypto";

const b64 = (bytes: number[] | Uint8Array) => toBase64(new Uint8Array(bytes));
const fill = (n: number, byte: number) => new Array<number>(n).fill(byte);
const SECRET = `whsec_${b64(fill(24, 1))}`;
const SECRET_OLD = `whsec_${b64(fill(24, 2))}`;
const SOURCE_SECRET = `whsec_${b64(fill(32, 3))}`;
const SIGNING = `whsk_${b64(fill(32, 4))}`;
const SIGNING_OLD = `whsk_${b64(fill(32, 5))}`;
// A 64-byte key (seed then public key), the form Svix writes: accepted by the configuration as is.
const SIGNING_64 = `whsk_${b64([...fill(32, 6), ...fill(32, 7)])}`;
const CYBAVO = { provider: "cybavo", secrets: ["CYBAVO_KEY"] };
const base = { ORIGIN_URL: "https://origin.example.com/hooks", CYBAVO_KEY: "s3cr3t-value-1" };
/** A certificate binding as the runtime gives it: an object with `fetch` (the tests only read its presence). */
const CERT = { fetch: (input: RequestInfo, init?: RequestInit) => fetch(input, init) };

function config(env: Record<string, unknown>): GatewayConfig {
  const result = parseConfig(env);
  if (!result.ok) throw new Error(`configuration refused: ${result.errors.join("; ")}`);
  return result.config;
}
function errorsOf(env: Record<string, unknown>): string[] {
  const result = parseConfig(env);
  return result.ok ? [] : result.errors;
}
const bytes = (text: string) => b64(Uint8Array.from(atob(text.slice(text.indexOf("_") + 1)), (c) => c.charCodeAt(0)));
const signingOf = (c: GatewayConfig, source: string) => {
  const signing = c.sources.get(source)!.signing;
  return { hmac: signing.hmac.map(b64), ed25519: signing.ed25519.map(b64) };
};

describe("signing keys per source", () => {
  it("signs with the defaults, both kinds, newest first, when a source names none", () => {
    const c = config({
      ...base,
      ORIGIN_SECRET: SECRET,
      ORIGIN_SECRET_PREVIOUS: SECRET_OLD,
      ORIGIN_SIGNING_KEY: SIGNING,
      ORIGIN_SIGNING_KEY_PREVIOUS: SIGNING_64,
      SOURCES: { a: CYBAVO },
    });
    expect(signingOf(c, "a")).toEqual({ hmac: [bytes(SECRET), bytes(SECRET_OLD)], ed25519: [bytes(SIGNING), bytes(SIGNING_64)] });
  });

  it("signs with exactly what a source names: v1 only, v1a only, or both, a single name or a list", () => {
    const c = config({
      ...base,
      ORIGIN_SECRET: SECRET,
      ORIGIN_SIGNING_KEY: SIGNING,
      S: SOURCE_SECRET,
      K: SIGNING_OLD,
      K2: SIGNING_64,
      SOURCES: {
        v1only: { ...CYBAVO, originSecret: "S" },
        v1aonly: { ...CYBAVO, originSigningKey: ["K2", "K"] },
        both: { ...CYBAVO, originSecret: ["S", "ORIGIN_SECRET"], originSigningKey: "K" },
        defaults: CYBAVO,
      },
    });
    expect(signingOf(c, "v1only")).toEqual({ hmac: [bytes(SOURCE_SECRET)], ed25519: [] });
    expect(signingOf(c, "v1aonly")).toEqual({ hmac: [], ed25519: [bytes(SIGNING_64), bytes(SIGNING_OLD)] });
    expect(signingOf(c, "both")).toEqual({ hmac: [bytes(SOURCE_SECRET), bytes(SECRET)], ed25519: [bytes(SIGNING_OLD)] });
    expect(signingOf(c, "defaults")).toEqual({ hmac: [bytes(SECRET)], ed25519: [bytes(SIGNING)] });
  });

  it("needs ORIGIN_SECRET only when a source relies on it and ORIGIN_SIGNING_KEY is not set", () => {
    // v1a only, by default: no ORIGIN_SECRET.
    expect(signingOf(config({ ...base, ORIGIN_SIGNING_KEY: SIGNING, SOURCES: { a: CYBAVO } }), "a")).toEqual({
      hmac: [],
      ed25519: [bytes(SIGNING)],
    });
    // Every source with its own keys: no default at all.
    expect(signingOf(config({ ...base, K: SIGNING, SOURCES: { a: { ...CYBAVO, originSigningKey: "K" } } }), "a").ed25519).toEqual([
      bytes(SIGNING),
    ]);
    // One source on the defaults, none set: one error naming it.
    expect(errorsOf({ ...base, K: SIGNING, SOURCES: { a: { ...CYBAVO, originSigningKey: "K" }, b: CYBAVO, c: CYBAVO } })).toEqual([
      "ORIGIN_SECRET: is not set (sources b, c sign with the defaults: set ORIGIN_SECRET or ORIGIN_SIGNING_KEY, or give each source its originSecret or originSigningKey)",
    ]);
    expect(errorsOf({ ...base, SOURCES: { b: CYBAVO } })).toEqual([
      "ORIGIN_SECRET: is not set (source b signs with the defaults: set ORIGIN_SECRET or ORIGIN_SIGNING_KEY, or give each source its originSecret or originSigningKey)",
    ]);
  });

  it.each([
    [{ SOURCES: { a: { ...CYBAVO, originSecret: "NOPE" } } }, "SOURCES.a.originSecret: secret binding NOPE is not set"],
    [{ SOURCES: { a: { ...CYBAVO, originSigningKey: ["K", "NOPE"] } } }, "SOURCES.a.originSigningKey: secret binding NOPE is not set"],
    [
      { SOURCES: { a: { ...CYBAVO, originSigningKey: "S" } } },
      "SOURCES.a.originSigningKey: secret binding S must be whsk_ followed by standard base64 of a 32-byte Ed25519 seed or the 64-byte seed and public key",
    ],
    [
      { SOURCES: { a: { ...CYBAVO, originSecret: "K" } } },
      "SOURCES.a.originSecret: secret binding K must be whsec_ followed by standard base64 of at least 24 bytes",
    ],
    [
      { BAD: `whsk_${b64(fill(33, 9))}`, SOURCES: { a: { ...CYBAVO, originSigningKey: "BAD" } } },
      "SOURCES.a.originSigningKey: secret binding BAD must be whsk_ followed by standard base64 of a 32-byte Ed25519 seed or the 64-byte seed and public key",
    ],
    [{ SOURCES: { a: { ...CYBAVO, originSecret: [] } } }, "SOURCES.a.originSecret: must name at least one binding"],
    [{ SOURCES: { a: { ...CYBAVO, originSigningKey: ["K", "K"] } } }, "SOURCES.a.originSigningKey: names K twice"],
    [
      { SOURCES: { a: { ...CYBAVO, originSecret: 7 } } },
      "SOURCES.a.originSecret: must be a secret binding name or a list of them, newest first",
    ],
    [
      { ORIGIN_SIGNING_KEY: `whsk_${b64(fill(48, 1))}`, SOURCES: {} },
      "ORIGIN_SIGNING_KEY: must be whsk_ followed by standard base64 of a 32-byte Ed25519 seed or the 64-byte seed and public key",
    ],
    [
      { ORIGIN_SIGNING_KEY: undefined, ORIGIN_SIGNING_KEY_PREVIOUS: SIGNING_OLD, SOURCES: {} },
      "ORIGIN_SIGNING_KEY_PREVIOUS: is set but ORIGIN_SIGNING_KEY is not (the previous key signs beside the current one, never alone)",
    ],
    [
      { SOURCES: { a: { ...CYBAVO, originCertificate: "ORIGIN_CERT" } } },
      "SOURCES.a.originCertificate: mTLS certificate binding ORIGIN_CERT is not bound (add it to [[mtls_certificates]]: docs/deploy.md)",
    ],
    [
      { NOT_A_BINDING: "text", SOURCES: { a: { ...CYBAVO, originCertificate: "NOT_A_BINDING" } } },
      "SOURCES.a.originCertificate: mTLS certificate binding NOT_A_BINDING is not bound (add it to [[mtls_certificates]]: docs/deploy.md)",
    ],
  ])("reports %j as a named error", (overrides, message) => {
    const errors = errorsOf({ ...base, ORIGIN_SECRET: SECRET, ORIGIN_SIGNING_KEY: SIGNING, S: SOURCE_SECRET, K: SIGNING, ...overrides });
    expect(errors).toContain(message);
    // No error quotes a value: neither the keys nor the text of a wrong one.
    for (const value of [SECRET, SIGNING, SOURCE_SECRET, SIGNING_OLD, `whsk_${b64(fill(33, 9))}`].map((v) => v.slice(6, 30))) {
      expect(errors.join("\n")).not.toContain(value);
    }
    expect(errors.join("\n")).not.toContain('"text"');
  });
});

describe("destinations", () => {
  it("one per origin URL and certificate binding: the certificate is part of the id", () => {
    const c = config({
      ...base,
      ORIGIN_SECRET: SECRET,
      ORIGIN_CERT: CERT,
      SOURCES: {
        a: CYBAVO,
        b: { ...CYBAVO, originCertificate: "ORIGIN_CERT" },
        c: { ...CYBAVO, originCertificate: "ORIGIN_CERT" },
        d: { ...CYBAVO, origin: "https://other.example.com/in" },
      },
    });
    const plain = destinationId(base.ORIGIN_URL, undefined);
    const withCert = destinationId(base.ORIGIN_URL, "ORIGIN_CERT");
    expect(plain).not.toBe(withCert);
    expect([...c.destinations.values()]).toEqual([
      { id: plain, url: base.ORIGIN_URL, sources: ["a"] },
      { id: withCert, url: base.ORIGIN_URL, certificate: "ORIGIN_CERT", sources: ["b", "c"] },
      { id: destinationId("https://other.example.com/in", undefined), url: "https://other.example.com/in", sources: ["d"] },
    ]);
    expect(c.sources.get("b")!.destination).toBe(c.destinations.get(withCert));
  });

  it("every source is in exactly one destination, the one of its URL and certificate (property)", () => {
    const urls = ["https://a.example.com/x", "https://b.example.com/x", "http://localhost:9/x"];
    const certs = [undefined, "CERT_1", "CERT_2"];
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(urls.length - 1), fc.nat(certs.length - 1)), { minLength: 1, maxLength: 12 }), (choices) => {
        const sources = Object.fromEntries(
          choices.map(([u, k], i) => [
            `s${i}`,
            { ...CYBAVO, origin: urls[u], ...(certs[k] !== undefined && { originCertificate: certs[k] }) },
          ]),
        );
        const c = config({ ...base, ORIGIN_SECRET: SECRET, CERT_1: CERT, CERT_2: CERT, SOURCES: sources });
        const members = [...c.destinations.values()].flatMap((d) => d.sources);
        expect(members.sort()).toEqual(Object.keys(sources).sort());
        for (const [i, [u, k]] of choices.entries()) {
          const destination = c.sources.get(`s${i}`)!.destination;
          expect(destination.id).toBe(destinationId(urls[u]!, certs[k]));
          expect([destination.url, destination.certificate]).toEqual([urls[u], certs[k]]);
          expect(destination.sources).toContain(`s${i}`);
        }
        expect(c.destinations.size).toBe(new Set(choices.map(([u, k]) => `${u}/${k}`)).size);
      }),
      { numRuns: 200 },
    );
  });
});
