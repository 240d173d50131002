/**
 * Standard Webhooks `v1a` (Ed25519): the published vectors (docs/vectors/standard-webhooks-v1a.json,
 * made by scripts/v1a-vectors.mjs with Node's crypto) checked against two implementations: Node's
 * own `crypto.verify`, which shares nothing with the gateway, and the exported verifier
 * `webhook-gateway/verify` (the built bundle, as an origin imports it), whose signer must
 * reproduce every expected header byte for byte. `npm test` builds the bundle first.
 */
import { createPublicKey, verify as nodeVerify } from "node:crypto";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { makeVectors, type V1aVectors, VECTORS_FILE } from "../../scripts/v1a-vectors.mjs";

const api = await import("webhook-gateway/verify");
const vectors = JSON.parse(readFileSync(VECTORS_FILE, "utf8")) as V1aVectors;
type KeyName = keyof typeof vectors.keys;

/** "current" → its 64-byte signing key; "current:seedOnly" → its 32-byte seed form. */
function signingKey(ref: string): string {
  const [name, form] = ref.split(":") as [KeyName, "seedOnly" | undefined];
  return form === "seedOnly" ? vectors.keys[name].seedOnly : vectors.keys[name].signingKey;
}
const publicKey = (ref: string) => vectors.keys[ref.split(":")[0] as KeyName].publicKey;

/** Node's own Ed25519 verification of one `v1a` entry with a `whpk_` key: the independent implementation. */
function nodeVerifies(whpk: string, id: string, timestamp: number, body: string, entry: string): boolean {
  const key = createPublicKey({
    key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(whpk.slice(5), "base64").toString("base64url") },
    format: "jwk",
  });
  return nodeVerify(null, Buffer.from(`${id}.${timestamp}.${body}`), key, Buffer.from(entry.slice("v1a,".length), "base64"));
}

const headersOf = (c: { id: string; timestamp: number; signature: string }) => ({
  "webhook-id": c.id,
  "webhook-timestamp": String(c.timestamp),
  "webhook-signature": c.signature,
});

describe("the published v1a vectors", () => {
  it("are exactly what scripts/v1a-vectors.mjs makes", () => {
    expect(vectors).toEqual(makeVectors());
    expect(vectors.valid).toHaveLength(5);
    expect(vectors.invalid).toHaveLength(10);
  });

  it("publish each key's public key as the second half of its 64-byte whsk_ (Svix's layout)", async () => {
    for (const key of Object.values(vectors.keys)) {
      const bytes = Buffer.from(key.signingKey.slice(5), "base64");
      expect(bytes).toHaveLength(64);
      expect(`whpk_${bytes.subarray(32).toString("base64")}`).toBe(key.publicKey);
      expect(key.seedOnly).toBe(`whsk_${bytes.subarray(0, 32).toString("base64")}`);
      // The exported helper derives the same public key from either form.
      expect(await api.publicKeyOf(key.signingKey)).toBe(key.publicKey);
      expect(await api.publicKeyOf(key.seedOnly)).toBe(key.publicKey);
    }
  });

  it.each(vectors.valid.map((c) => [c.name, c] as const))("%s: Node's crypto verifies every v1a entry", (_name, c) => {
    const entries = c.signature.split(" ").filter((e) => e.startsWith("v1a,"));
    expect(entries).toHaveLength(c.signingKeys.length);
    c.signingKeys.forEach((ref, i) => {
      expect(nodeVerifies(publicKey(ref), c.id, c.timestamp, c.body, entries[i]!)).toBe(true);
      // And no other key's: each entry belongs to its key.
      expect(nodeVerifies(vectors.keys.other.publicKey, c.id, c.timestamp, c.body, entries[i]!)).toBe(false);
    });
  });

  it.each(vectors.valid.map((c) => [c.name, c] as const))(
    "%s: signWebhook makes the expected header, verifyWebhook accepts it",
    async (_name, c) => {
      const signed = await api.signWebhook({
        id: c.id,
        body: c.body,
        timestamp: c.timestamp,
        secrets: c.secrets.map((name) => vectors.secrets[name as "hmac"]),
        signingKeys: c.signingKeys.map(signingKey),
      });
      expect(signed).toEqual(headersOf(c));
      const now = c.timestamp * 1000;
      // Each public key alone verifies (rotation: an origin holding either key accepts).
      for (const ref of c.signingKeys) {
        expect(await api.verifyWebhook({ body: c.body, headers: headersOf(c), publicKeys: [publicKey(ref)], now })).toEqual({ ok: true });
      }
      for (const name of c.secrets) {
        expect(await api.verifyWebhook({ body: c.body, headers: headersOf(c), secrets: [vectors.secrets[name as "hmac"]], now })).toEqual({
          ok: true,
        });
      }
    },
  );

  it.each(vectors.invalid.map((c) => [c.name, c] as const))("%s: refused with its reason", async (_name, c) => {
    const result = await api.verifyWebhook({
      body: c.body,
      headers: headersOf(c),
      secrets: c.secrets.map((name) => vectors.secrets[name as "hmac"]),
      publicKeys: c.publicKeys.map(publicKey),
      now: c.now,
    });
    expect(result).toEqual({ ok: false, reason: c.reason });
  });

  it("tampered body and wrong key also fail under Node's crypto (the negatives are real, not artefacts of the verifier)", () => {
    const [tampered, wrongKey] = vectors.invalid;
    expect(nodeVerifies(publicKey("current"), tampered!.id, tampered!.timestamp, tampered!.body, tampered!.signature)).toBe(false);
    expect(nodeVerifies(publicKey("other"), wrongKey!.id, wrongKey!.timestamp, wrongKey!.body, wrongKey!.signature)).toBe(false);
    expect(nodeVerifies(publicKey("current"), wrongKey!.id, wrongKey!.timestamp, wrongKey!.body, wrongKey!.signature)).toBe(true);
  });
});

describe("v1a with keys from elsewhere", () => {
  // Svix's own server test key (svix-webhooks, server/svix-server/src/core/types/mod.rs): the
  // 64-byte secret key it accepts as whsk_, and the whpk_ it rejects as a secret. Our reading of
  // whsk_ (seed, then public key) derives exactly that public key.
  const SVIX_SK = "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg==";
  const SVIX_PK = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=";

  it("derives Svix's public key from Svix's secret key", async () => {
    expect(await api.publicKeyOf(SVIX_SK)).toBe(SVIX_PK);
  });

  it("refuses a 64-byte key whose second half is not its public key, and malformed keys", async () => {
    const bytes = Buffer.from(SVIX_SK.slice(5), "base64");
    bytes[40] = (bytes[40] as number) ^ 1;
    await expect(api.publicKeyOf(`whsk_${bytes.toString("base64")}`)).rejects.toThrow(/last 32 bytes are not the public key/);
    await expect(api.signWebhook({ id: "x", body: "{}", signingKeys: [`whsk_${bytes.toString("base64")}`], timestamp: 1 })).rejects.toThrow(
      TypeError,
    );
    for (const bad of [SVIX_PK, "whsk_", `whsk_${Buffer.alloc(33).toString("base64")}`, SVIX_SK.slice(5)]) {
      await expect(api.signWebhook({ id: "x", body: "{}", signingKeys: [bad], timestamp: 1 })).rejects.toThrow(TypeError);
    }
  });

  it("signs what Node's crypto verifies, for any id, time and body; any changed byte of the body fails (property)", async () => {
    const key = vectors.keys.previous;
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/),
        fc.integer({ min: 0, max: 4_102_444_800 }),
        fc.string({ unit: "grapheme", maxLength: 200 }),
        fc.nat(),
        async (id, timestamp, body, at) => {
          const signed = await api.signWebhook({ id, body, timestamp, signingKeys: [key.signingKey] });
          const entry = signed["webhook-signature"]!;
          expect(nodeVerifies(key.publicKey, id, timestamp, body, entry)).toBe(true);
          const bytes = Buffer.from(body);
          if (bytes.length === 0) return;
          bytes[at % bytes.length] = (bytes[at % bytes.length] as number) ^ 0x01;
          const changed = new TextDecoder().decode(bytes);
          const result = await api.verifyWebhook({ body: changed, headers: signed, publicKeys: [key.publicKey], now: timestamp * 1000 });
          // The changed bytes read back as other text (an invalid sequence reads as U+FFFD), and fail.
          expect(changed).not.toBe(body);
          expect(result).toEqual({ ok: false, reason: "bad_signature" });
        },
      ),
      { numRuns: 200 },
    );
  });
});
