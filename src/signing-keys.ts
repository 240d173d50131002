/**
 * GET /.well-known/webhook-gateway/signing-keys: the public keys origins verify `v1a` signatures
 * with (docs/verify.md "Public keys"). Public, cacheable for a few minutes, and made only of public
 * keys derived from the configured signing keys with WebCrypto: no private byte is ever in it.
 * One entry per public key and role: `current` is true when the key is the newest `v1a` key of
 * the sources it lists, false when it is a previous one (rotation), so a key that is current for
 * one source and previous for another appears twice.
 */
import type { GatewayConfig } from "./config";
import { log } from "./log";
import { reply } from "./replies";
import { toBase64 } from "./verify/crypto";
import { ed25519PublicKey, PUBLIC_KEY_PREFIX } from "./verify/ed25519";

export const SIGNING_KEYS_PATH = "/.well-known/webhook-gateway/signing-keys";

/** How long origins and caches may keep the answer: a rotation shows within this. */
export const SIGNING_KEYS_MAX_AGE_SECONDS = 300;

export interface PublishedKey {
  /** `whpk_` + standard base64 of the 32-byte Ed25519 public key. */
  readonly publicKey: string;
  /** The sources whose events carry a `v1a` signature by this key, in configuration order. */
  readonly sources: readonly string[];
  readonly current: boolean;
}

/** The published keys, current ones first, each group in order of first use. Rejects for a 64-byte key whose halves disagree. */
export async function publishedKeys(config: GatewayConfig): Promise<PublishedKey[]> {
  const entries = new Map<string, { publicKey: string; sources: string[]; current: boolean }>();
  for (const [name, source] of config.sources) {
    const keys = await Promise.all(source.signing.ed25519.map(ed25519PublicKey));
    keys.forEach((raw, i) => {
      const publicKey = `${PUBLIC_KEY_PREFIX}${toBase64(raw)}`;
      const current = i === 0;
      const id = `${current}:${publicKey}`;
      const entry = entries.get(id) ?? { publicKey, sources: [], current };
      entry.sources.push(name);
      entries.set(id, entry);
    });
  }
  const all = [...entries.values()];
  return [...all.filter((e) => e.current), ...all.filter((e) => !e.current)];
}

/** The route's answer. */
export async function serveSigningKeys(config: GatewayConfig): Promise<Response> {
  let keys: PublishedKey[];
  try {
    keys = await publishedKeys(config);
  } catch (err) {
    // Only an inconsistent 64-byte whsk_ key gets here; the message names no key material.
    log("signing_keys_invalid", { level: "error", error: err instanceof Error ? err.message : String(err) });
    return reply.unavailable();
  }
  const headers = {
    "content-type": "application/json; charset=utf-8",
    "cache-control": `public, max-age=${SIGNING_KEYS_MAX_AGE_SECONDS}`,
    "access-control-allow-origin": "*",
    "x-content-type-options": "nosniff",
  };
  if (keys.length === 0) {
    return new Response(JSON.stringify({ error: "no v1a signing key is configured (ORIGIN_SIGNING_KEY or a source's originSigningKey)" }), {
      status: 404,
      headers: { ...headers, "cache-control": "public, max-age=60" },
    });
  }
  return new Response(JSON.stringify({ keys }), { status: 200, headers });
}
