/**
 * The one place where bytes are hashed, MACed, encoded and compared (Ed25519, the asymmetric
 * Standard Webhooks scheme, is in ./ed25519.ts). Providers describe which of these they use;
 * they never compute on their own. Only Web standards are used here
 * (`crypto.subtle`, `TextEncoder`), so this module runs unchanged in Workers, Node and browsers.
 * Decoders never throw: bad input yields `undefined`, which callers turn into a 401.
 */

import { md5 } from "./md5";

const encoder = new TextEncoder();

/** Encodes a string as UTF-8 bytes. */
export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text) as Uint8Array<ArrayBuffer>;
}

/** Decodes UTF-8 bytes strictly (a leading BOM dropped, as by default); undefined when they are not UTF-8. */
export function fromUtf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    // Bytes that are not UTF-8 are an answer, not a failure: callers refuse or quarantine them
    // with that reason, which their log line carries.
    return undefined;
  }
}

/** Concatenates byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Compares two byte arrays in time that depends only on their lengths, never on where they
 * differ. Signatures have public, fixed lengths, so an early length check leaks nothing.
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

export type DigestAlgorithm = "SHA-256" | "MD5";

let nativeMd5: boolean | undefined;

/**
 * Computes a digest. MD5 (Cregis) comes from the runtime where WebCrypto has it (Workers) and
 * from ./md5.ts where it does not (browsers, Node): the first MD5 call finds out which.
 */
export async function digest(algorithm: DigestAlgorithm, data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  if (algorithm === "MD5" && nativeMd5 !== true) {
    if (nativeMd5 === false) return md5(data);
    try {
      const result = new Uint8Array(await crypto.subtle.digest("MD5", data));
      nativeMd5 = true;
      return result;
    } catch {
      // Feature detection, not a failure: this runtime's WebCrypto has no MD5 (browsers, Node).
      nativeMd5 = false;
      return md5(data);
    }
  }
  return new Uint8Array(await crypto.subtle.digest(algorithm, data));
}

// Imported HMAC keys are cached per isolate: importKey costs more than the MAC of a small body.
const hmacKeys = new Map<string, Promise<CryptoKey>>();
const HMAC_KEY_CACHE_LIMIT = 256;

function hmacKey(secret: Uint8Array<ArrayBuffer>, cacheId: string): Promise<CryptoKey> {
  let key = hmacKeys.get(cacheId);
  if (key === undefined) {
    if (hmacKeys.size >= HMAC_KEY_CACHE_LIMIT) hmacKeys.clear();
    key = crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    hmacKeys.set(cacheId, key);
  }
  return key;
}

function keyCacheId(secret: Uint8Array): string {
  // The cache is keyed by the secret's bytes themselves; the map lives only in this isolate's
  // memory and is never logged or returned.
  return toBase64(secret);
}

/** Computes HMAC-SHA256(secret, message). */
export async function hmacSha256(secret: Uint8Array<ArrayBuffer>, message: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const key = await hmacKey(secret, keyCacheId(secret));
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, message));
}

/**
 * Verifies an HMAC-SHA256 tag with `crypto.subtle.verify`, which compares in constant time.
 * A tag of the wrong length is simply false.
 */
export async function verifyHmacSha256(
  secret: Uint8Array<ArrayBuffer>,
  message: Uint8Array<ArrayBuffer>,
  tag: Uint8Array<ArrayBuffer>,
): Promise<boolean> {
  if (tag.length !== 32) return false;
  const key = await hmacKey(secret, keyCacheId(secret));
  return crypto.subtle.verify("HMAC", key, tag, message);
}

// ---------------------------------------------------------------------------------------------
// Encodings. Each decoder returns undefined for anything that is not canonical input.

const HEX = "0123456789abcdef";

/** Encodes bytes as lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += HEX[b >> 4] + (HEX[b & 15] as string);
  return out;
}

/** Decodes hex (either case); undefined on odd length or a non-hex character. */
export function fromHex(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return undefined;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Encodes bytes as standard Base64 with padding. */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/**
 * Decodes canonical standard Base64 (padding required); undefined on anything else. Canonical
 * matters: the unused low bits of the last character would otherwise let a changed signature
 * decode to the same bytes.
 */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    // Unreachable after the pattern check; kept so a decoder never throws. Callers turn
    // undefined into a refusal whose reason they log.
    return undefined;
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return toBase64(out) === text ? out : undefined;
}

/** Encodes bytes as base64url with `=` padding (the CYBAVO checksum format). */
export function toBase64UrlPadded(bytes: Uint8Array): string {
  return toBase64(bytes).replaceAll("+", "-").replaceAll("/", "_");
}

/** Decodes base64url with `=` padding; undefined on anything else. */
export function fromBase64UrlPadded(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (/[+/]/.test(text)) return undefined;
  return fromBase64(text.replaceAll("-", "+").replaceAll("_", "/"));
}
