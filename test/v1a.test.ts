/**
 * `v1a` (Ed25519) signatures on the real delivery path, the public keys at
 * GET /.well-known/webhook-gateway/signing-keys, and a destination's mTLS certificate binding.
 * The test gateway signs every delivery with ORIGIN_SECRET(+_PREVIOUS) and ORIGIN_SIGNING_KEY
 * (64-byte form) + ORIGIN_SIGNING_KEY_PREVIOUS (32-byte seed form): test/support/test-config.ts.
 * Miniflare has no mTLS certificate bindings, so the certificate binding is stood in for by an
 * object with the binding's one method, `fetch`, which records the call and forwards it to the
 * real test origin: what is checked is that delivery goes through the binding, not the handshake.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../src/config";
import { deliverOnce } from "../src/delivery";
import { destinationId, targetFor } from "../src/destinations";
import { verdictOf } from "../src/ledger/destination-run";
import { toBase64, toHex } from "../src/verify/crypto";
import { verifyWebhook } from "../src/verify/index";
import { call, cybavoCallback, drain, originEvents, postCybavo, secrets, uniqueAccount } from "./support/gateway";

// The keys of docs/vectors/standard-webhooks-v1a.json ("current" and "previous"), public examples.
const CURRENT = "whsk_4R7Up3sgSj9vp0g/CFYo24vhEG3jVJAwVCV2NuADEtMF3w7ENWsECvyNpOw1U3Nk98mkBGqeMsrheFCTeL5fYg==";
const CURRENT_PUBLIC = "whpk_Bd8OxDVrBAr8jaTsNVNzZPfJpARqnjLK4XhQk3i+X2I=";
const PREVIOUS_SEED = "whsk_dvzDDYlmiPDo1HMGEF4P6hAwnycpBXSm0IVfxmsopDQ=";
const PREVIOUS_PUBLIC = "whpk_pncLJMZIv79ClbH9iVH85uWP+0UpsviTa8K0gOkaSL0=";
const OTHER_PUBLIC = "whpk_BNAWFccgCwUPGBJbijw85U/qi+0htkIlJi8bPZx97KQ=";
const KEYS_URL = "https://gateway.test/.well-known/webhook-gateway/signing-keys";

const bindings = env as unknown as Record<string, unknown>;
const decode = (text: string) => Uint8Array.from(atob(text.slice(text.indexOf("_") + 1)), (c) => c.charCodeAt(0));
/** Every way a private key's bytes could be written in a JSON answer. */
function privateForms(key: string): string[] {
  const bytes = decode(key);
  const seed = bytes.subarray(0, 32);
  return [toBase64(bytes), toBase64(seed), toBase64(seed).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, ""), toHex(seed)];
}

describe("v1a on the delivery path", () => {
  it("every delivery carries the v1 entries, then one v1a entry per signing key, newest first", async () => {
    expect([bindings.ORIGIN_SIGNING_KEY, bindings.ORIGIN_SIGNING_KEY_PREVIOUS]).toEqual([CURRENT, PREVIOUS_SEED]);
    const wallet = uniqueAccount();
    expect((await postCybavo("cybavo", cybavoCallback({ wallet_id: wallet }))).status).toBe(200);
    await drain("cybavo", String(wallet));
    const [event] = await originEvents(String(wallet));
    const header = event!.headers["webhook-signature"]!;
    expect(header.split(" ").map((entry) => entry.slice(0, entry.indexOf(",")))).toEqual(["v1", "v1", "v1a", "v1a"]);
    const now = Number(event!.headers["webhook-timestamp"]) * 1000;
    const check = (headers: Record<string, string>, publicKeys: string[]) => verifyWebhook({ body: event!.body, headers, publicKeys, now });
    // Each v1a entry is its own key's: the current key's first, the previous key's second.
    const [, , first, second] = header.split(" ");
    const only = (entry: string) => ({ ...event!.headers, "webhook-signature": entry! });
    expect(await check(only(first!), [CURRENT_PUBLIC])).toEqual({ ok: true });
    expect(await check(only(first!), [PREVIOUS_PUBLIC])).toEqual({ ok: false, reason: "bad_signature" });
    expect(await check(only(second!), [PREVIOUS_PUBLIC])).toEqual({ ok: true });
    expect(await check(event!.headers, [OTHER_PUBLIC])).toEqual({ ok: false, reason: "bad_signature" });
    // The origin that holds only the public key verifies the whole header as sent.
    expect(await check(event!.headers, [CURRENT_PUBLIC])).toEqual({ ok: true });
  });

  it("a source that names only a signing key sends only v1a", async () => {
    const config = parseConfig({
      ...bindings,
      K: CURRENT,
      SOURCES: { only: { provider: "cybavo", secrets: ["CYBAVO_API_SECRET"], originSigningKey: "K" } },
    });
    if (!config.ok) throw new Error(config.errors.join("; "));
    const target = targetFor(config.config, env, "only")!;
    const sent: Request[] = [];
    const recorder = {
      fetch: async (input: RequestInfo | URL, init?: RequestInit) => {
        sent.push(new Request(input, init));
        return new Response("ok");
      },
    };
    const body = '{"specversion":"1.0","subject":"v1a-only"}';
    const outcome = await deliverOnce(
      { ...target, fetcher: recorder as unknown as Fetcher },
      { id: "evt_v1a_only", body },
      1_767_225_600_000,
      1000,
    );
    expect(outcome).toEqual({ kind: "delivered", status: 200 });
    const headers = Object.fromEntries(sent[0]!.headers);
    expect(headers["webhook-signature"]!.split(" ").map((e) => e.split(",")[0])).toEqual(["v1a"]);
    expect(await verifyWebhook({ body, headers, publicKeys: [CURRENT_PUBLIC], now: 1_767_225_600_000 })).toEqual({ ok: true });
    expect(await verifyWebhook({ body, headers, secrets: [secrets.ORIGIN_SECRET], now: 1_767_225_600_000 })).toEqual({
      ok: false,
      reason: "malformed_signature",
    });
  });
});

describe("a 64-byte key whose halves do not match", () => {
  // The configuration takes it (the check needs WebCrypto, which is asynchronous); its first use refuses it.
  const bytes = decode(CURRENT);
  bytes[40] = (bytes[40] as number) ^ 1;
  const BROKEN = `whsk_${toBase64(bytes)}`;

  it("is never used to sign: the attempt fails with the reason and sends nothing; the keys URL answers 503", async () => {
    const custom = {
      ...bindings,
      BROKEN,
      SOURCES: { b: { provider: "cybavo", secrets: ["CYBAVO_API_SECRET"], originSigningKey: "BROKEN" } },
    };
    const config = parseConfig(custom);
    if (!config.ok) throw new Error(config.errors.join("; "));
    const sent: string[] = [];
    const recorder = {
      fetch: async (input: RequestInfo | URL) => {
        sent.push(String(input));
        return new Response("ok");
      },
    };
    const target = { ...targetFor(config.config, env, "b")!, fetcher: recorder as unknown as Fetcher };
    const outcome = await deliverOnce(target, { id: "evt_broken", body: "{}" }, Date.now(), 1000);
    expect(outcome).toEqual({
      kind: "retry",
      error: "signing failed: ed25519: a 64-byte whsk_ key's last 32 bytes are not the public key of its first 32",
      unsent: true,
    });
    // Nothing reached the origin: the destination's breaker does not count it as the origin's failure.
    expect(verdictOf(outcome)).toBe("neither");
    expect(sent).toEqual([]);
    const keys = await call(new Request(KEYS_URL), { ...custom, SOURCES: JSON.stringify(custom.SOURCES) } as unknown as Env);
    expect(keys.status).toBe(503);
    expect(await keys.text()).not.toContain(toBase64(bytes).slice(0, 40));
  });
});

describe("GET /.well-known/webhook-gateway/signing-keys", () => {
  it("publishes the public keys, current first, with the sources they sign for, and no private byte", async () => {
    const response = await call(new Request(KEYS_URL));
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("public, max-age=300");
    expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    const text = await response.text();
    const sources = Object.keys(JSON.parse(bindings.SOURCES as string));
    expect(JSON.parse(text)).toEqual({
      keys: [
        { publicKey: CURRENT_PUBLIC, sources, current: true },
        { publicKey: PREVIOUS_PUBLIC, sources, current: false },
      ],
    });
    for (const form of [...privateForms(CURRENT), ...privateForms(PREVIOUS_SEED)]) expect(text).not.toContain(form);
  });

  it("says which key is current for which source; 404 with an error when no v1a key is configured", async () => {
    const { ORIGIN_SIGNING_KEY: _current, ORIGIN_SIGNING_KEY_PREVIOUS: _previous, ...withoutDefaults } = bindings;
    const cybavo = { provider: "cybavo", secrets: ["CYBAVO_API_SECRET"] };
    const custom = {
      ...withoutDefaults,
      ORIGIN_SIGNING_KEY: PREVIOUS_SEED,
      NEW_KEY: CURRENT,
      SOURCES: JSON.stringify({
        a: { ...cybavo, originSigningKey: ["NEW_KEY", "ORIGIN_SIGNING_KEY"] },
        b: cybavo,
        c: { ...cybavo, originSecret: "ORIGIN_SECRET" },
      }),
    } as unknown as Env;
    const response = await call(new Request(KEYS_URL), custom);
    expect(await response.json()).toEqual({
      keys: [
        { publicKey: CURRENT_PUBLIC, sources: ["a"], current: true },
        { publicKey: PREVIOUS_PUBLIC, sources: ["b"], current: true },
        { publicKey: PREVIOUS_PUBLIC, sources: ["a"], current: false },
      ],
    });
    const none = await call(new Request(KEYS_URL), { ...withoutDefaults } as unknown as Env);
    expect(none.status).toBe(404);
    expect(await none.json()).toEqual({ error: "no v1a signing key is configured (ORIGIN_SIGNING_KEY or a source's originSigningKey)" });
  });
});

describe("a destination's mTLS certificate binding", () => {
  const source = (certificate: string) =>
    JSON.stringify({ mtls: { provider: "cybavo", secrets: ["CYBAVO_API_SECRET"], originCertificate: certificate } });

  it("a source naming a certificate binding that is not bound is a configuration error: its webhooks get 503", async () => {
    const unbound = { ...bindings, SOURCES: source("ORIGIN_CERT") } as unknown as Env;
    const result = parseConfig(unbound as unknown as Record<string, unknown>);
    expect(result.ok ? [] : result.errors).toEqual([
      "SOURCES.mtls.originCertificate: mTLS certificate binding ORIGIN_CERT is not bound (add it to [[mtls_certificates]]: docs/deploy.md)",
    ]);
    expect((await postCybavo("mtls", cybavoCallback(), undefined, {}, unbound)).status).toBe(503);
  });

  it("delivery goes through the certificate binding's fetch when it is bound", async () => {
    const calls: string[] = [];
    const certificate = {
      fetch: (input: RequestInfo | URL, init?: RequestInit) => {
        calls.push(new Request(input, init).url);
        return fetch(input, init);
      },
    };
    const bound = { ...bindings, ORIGIN_CERT: certificate, SOURCES: source("ORIGIN_CERT") };
    const config = parseConfig(bound);
    if (!config.ok) throw new Error(config.errors.join("; "));
    const target = targetFor(config.config, bound as unknown as Env, "mtls")!;
    expect(target.destination).toEqual({
      id: destinationId(bindings.ORIGIN_URL as string, "ORIGIN_CERT"),
      url: bindings.ORIGIN_URL,
      certificate: "ORIGIN_CERT",
      sources: ["mtls"],
    });
    expect(target.fetcher).toBe(certificate);
    const subject = `mtls-${uniqueAccount()}`;
    const id = `evt_${subject}`;
    const body = JSON.stringify({ specversion: "1.0", id, type: "test", subject, data: {} });
    expect(await deliverOnce(target, { id, body }, Date.now(), 5000)).toEqual({ kind: "delivered", status: 200 });
    expect(calls).toEqual([bindings.ORIGIN_URL]);
    // The real origin received it and verified its v1 signature.
    expect((await originEvents(subject)).map((e) => e.id)).toEqual([id]);
  });
});
