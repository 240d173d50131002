/**
 * Ed25519 for Standard Webhooks' asymmetric scheme (`v1a`), with WebCrypto only (Workers, Node
 * 22+, Chromium 137+): signing with a `whsk_` key, deriving and verifying with its `whpk_` public
 * key. Formats, as Svix's server writes them (docs/verify.md "Key formats"):
 * - `whsk_` + standard base64 of the 64-byte secret key, seed (32) then public key (32); the bare
 *   32-byte seed is accepted too. A 64-byte key whose second half is not the public key of its
 *   seed is refused when it is first used (the check needs WebCrypto, which is asynchronous);
 * - `whpk_` + standard base64 of the 32-byte public key;
 * - a signature is the 64 bytes of pure Ed25519 (RFC 8032) over `id.timestamp.body`.
 * Imported keys are cached per isolate, as the HMAC keys are (./crypto.ts).
 */
import { fromBase64, toBase64 } from "./crypto";

export const SIGNING_KEY_PREFIX = "whsk_";
export const PUBLIC_KEY_PREFIX = "whpk_";

/** An Ed25519 private key in PKCS#8 is this fixed 16-byte header followed by the 32-byte seed (RFC 8410). */
const PKCS8_HEADER = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
const ED25519 = { name: "Ed25519" } as const;
const CACHE_LIMIT = 256;

/** The bytes of a `whsk_` key (32-byte seed, or 64-byte seed and public key); undefined for anything else. */
export function signingKeyBytes(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!text.startsWith(SIGNING_KEY_PREFIX)) return undefined;
  const bytes = fromBase64(text.slice(SIGNING_KEY_PREFIX.length));
  return bytes?.length === 32 || bytes?.length === 64 ? bytes : undefined;
}

/** The 32 bytes of a `whpk_` public key, the prefix optional (as `whsec_` is when verifying); undefined for anything else. */
export function publicKeyBytes(text: string): Uint8Array<ArrayBuffer> | undefined {
  const bytes = fromBase64(text.startsWith(PUBLIC_KEY_PREFIX) ? text.slice(PUBLIC_KEY_PREFIX.length) : text);
  return bytes?.length === 32 ? bytes : undefined;
}

interface Signer {
  readonly privateKey: CryptoKey;
  /** The raw 32-byte public key. */
  readonly publicKey: Uint8Array<ArrayBuffer>;
}

// Keyed by the key's own bytes; the maps live only in this isolate's memory, never logged or returned.
const signers = new Map<string, Promise<Signer>>();
const verifiers = new Map<string, Promise<CryptoKey | undefined>>();

function remember<T>(cache: Map<string, Promise<T>>, id: string, make: () => Promise<T>): Promise<T> {
  let entry = cache.get(id);
  if (entry === undefined) {
    if (cache.size >= CACHE_LIMIT) cache.clear();
    entry = make();
    // A failed import is not cached: the next use tries again (and fails the same way, loudly).
    entry.catch(() => cache.delete(id));
    cache.set(id, entry);
  }
  return entry;
}

async function importSigner(key: Uint8Array<ArrayBuffer>): Promise<Signer> {
  const pkcs8 = new Uint8Array(PKCS8_HEADER.length + 32);
  pkcs8.set(PKCS8_HEADER);
  pkcs8.set(key.subarray(0, 32), PKCS8_HEADER.length);
  // Imported once extractable, only to read the public key (JWK `x`), then again for signing
  // without it, so the cached signing key can never be exported.
  const extractable = await crypto.subtle.importKey("pkcs8", pkcs8, ED25519, true, ["sign"]);
  const jwk = (await crypto.subtle.exportKey("jwk", extractable)) as JsonWebKey;
  const publicKey = fromBase64Url(jwk.x ?? "");
  if (publicKey?.length !== 32) throw new TypeError("ed25519: the runtime exported no public key");
  if (key.length === 64 && toBase64(key.subarray(32)) !== toBase64(publicKey)) {
    throw new TypeError("ed25519: a 64-byte whsk_ key's last 32 bytes are not the public key of its first 32");
  }
  const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, ED25519, false, ["sign"]);
  return { privateKey, publicKey };
}

function signer(key: Uint8Array<ArrayBuffer>): Promise<Signer> {
  return remember(signers, toBase64(key), () => importSigner(key));
}

/** The raw public key of a signing key (32 or 64 bytes); rejects with a TypeError for an inconsistent 64-byte key. */
export async function ed25519PublicKey(key: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  return (await signer(key)).publicKey;
}

/** The 64-byte Ed25519 signature of `message`. */
export async function signEd25519(key: Uint8Array<ArrayBuffer>, message: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.sign(ED25519, (await signer(key)).privateKey, message));
}

/**
 * Whether `signature` is `publicKey`'s signature of `message`. False, never an exception, for a
 * signature that is not 64 bytes and for a public key the runtime refuses (not a curve point).
 */
export async function verifyEd25519(
  publicKey: Uint8Array<ArrayBuffer>,
  message: Uint8Array<ArrayBuffer>,
  signature: Uint8Array<ArrayBuffer>,
): Promise<boolean> {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  const key = await remember(verifiers, toBase64(publicKey), () =>
    crypto.subtle.importKey("raw", publicKey, ED25519, false, ["verify"]).catch((): undefined => {
      // Not a valid public key: it verifies nothing. The caller reports `bad_signature`.
      return undefined;
    }),
  );
  if (key === undefined) return false;
  try {
    return await crypto.subtle.verify(ED25519, key, signature, message);
  } catch {
    // Some runtimes throw on a signature whose point does not decode: that is a mismatch, not a fault.
    return false;
  }
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | undefined {
  const standard = text.replaceAll("-", "+").replaceAll("_", "/");
  return fromBase64(standard.padEnd(Math.ceil(standard.length / 4) * 4, "="));
}
