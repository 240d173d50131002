/**
 * Standard Webhooks (https://www.standardwebhooks.com, spec "Verifying webhook authenticity"):
 * how the gateway signs what it sends to origins, how an origin (or a tool) checks it, and how
 * the `standard-webhooks` provider checks what a sender signed. `webhook-signature` holds
 * space-separated entries: `v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>`, the key being the
 * standard base64 of the secret after `whsec_`, and `v1a,<base64 Ed25519 signature of the same
 * text>` (the asymmetric scheme: `whsk_` signing keys, `whpk_` public keys, ./ed25519.ts).
 */
import { fromBase64, hmacSha256, toBase64, utf8, verifyHmacSha256 } from "./crypto";
import { publicKeyBytes, signEd25519, verifyEd25519 } from "./ed25519";
import { prefixed, type VerifyResult } from "./types";

/** The keys one sender signs with, each kind newest first. */
export interface SigningKeys {
  /** `v1`: HMAC-SHA256 keys (the bytes after `whsec_`). */
  readonly hmac: readonly Uint8Array<ArrayBuffer>[];
  /** `v1a`: Ed25519 signing keys (the bytes after `whsk_`: a 32-byte seed, or seed and public key). */
  readonly ed25519: readonly Uint8Array<ArrayBuffer>[];
}

/** The spec's tolerance for `webhook-timestamp`, either way, and the official libraries' default. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/**
 * The key of a secret to verify with: the standard base64 after `whsec_`, the prefix optional as
 * in the official libraries (the spec shows secrets with it, "for easy identification").
 * Undefined for a secret that does not decode or decodes to nothing.
 */
export function secretKey(secret: string): Uint8Array<ArrayBuffer> | undefined {
  const key = fromBase64(secret.startsWith("whsec_") ? secret.slice(6) : secret);
  return key !== undefined && key.length > 0 ? key : undefined;
}

/** Decodes a `whsec_...` secret to sign with; throws a TypeError for a malformed one (misuse, not input). */
export function webhookKey(secret: string): Uint8Array<ArrayBuffer> {
  const key = secret.startsWith("whsec_") ? secretKey(secret) : undefined;
  if (key === undefined) throw new TypeError("standard-webhooks: a secret is whsec_ followed by standard base64");
  return key;
}

/** One `v1,<base64>` signature. */
export async function signStandardWebhook(
  key: Uint8Array<ArrayBuffer>,
  id: string,
  timestampSeconds: number,
  body: string,
): Promise<string> {
  return `v1,${toBase64(await hmacSha256(key, utf8(`${id}.${timestampSeconds}.${body}`)))}`;
}

/** One `v1a,<base64>` signature. */
export async function signStandardWebhookV1a(
  key: Uint8Array<ArrayBuffer>,
  id: string,
  timestampSeconds: number,
  body: string,
): Promise<string> {
  return `v1a,${toBase64(await signEd25519(key, utf8(`${id}.${timestampSeconds}.${body}`)))}`;
}

/**
 * The `webhook-signature` value: one signature per key, space-separated: the `v1` ones (newest
 * key first), then the `v1a` ones (newest first). A receiver tries each entry of a scheme it
 * holds keys for until one verifies, so the order only says which key is current.
 */
export async function signatureHeader(keys: SigningKeys, id: string, timestampSeconds: number, body: string): Promise<string> {
  const signatures = await Promise.all([
    ...keys.hmac.map((key) => signStandardWebhook(key, id, timestampSeconds, body)),
    ...keys.ed25519.map((key) => signStandardWebhookV1a(key, id, timestampSeconds, body)),
  ]);
  return signatures.join(" ");
}

// A Unix time in seconds written as the integer it is: no sign, no leading zero, no fraction.
// The official libraries sign the number they parse, so only its canonical text verifies the same
// everywhere; the spec's header is an "integer unix timestamp".
const TIMESTAMP = /^(0|[1-9]\d{0,11})$/;

/**
 * Checks a received webhook over its exact bytes: `webhook-id` present and not empty,
 * `webhook-timestamp` within `toleranceSeconds` (default 300) of `now` either way, counted in
 * whole seconds as the official libraries do, and any `v1` signature in `webhook-signature` made
 * with any of `secrets` (each `whsec_` + base64, the prefix optional) or any `v1a` signature made
 * by any of `publicKeys` (each `whpk_` + base64 of 32 bytes, the prefix optional). Entries of a
 * scheme with no key given, and other version tags, are skipped, never checked as another
 * scheme; an entry that is not canonical base64 of its scheme's length (32 bytes for `v1`, 64 for
 * `v1a`) is skipped too (canonical: a changed signature can never decode to the same bytes).
 * HMACs are compared in constant time (`crypto.subtle.verify`); Ed25519 is verified by WebCrypto.
 * Never throws on hostile input.
 */
export async function verifyStandardWebhook(input: {
  readonly body: string | Uint8Array<ArrayBuffer>;
  readonly headers: Headers;
  readonly secrets: readonly string[];
  readonly publicKeys?: readonly string[] | undefined;
  readonly now: number;
  readonly toleranceSeconds?: number | undefined;
}): Promise<VerifyResult> {
  const id = input.headers.get("webhook-id");
  const timestamp = input.headers.get("webhook-timestamp");
  const signatures = input.headers.get("webhook-signature");
  if (!id || !timestamp || !signatures) return { ok: false, reason: "missing_signature" };
  if (!TIMESTAMP.test(timestamp)) return { ok: false, reason: "malformed_signature" };
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(Math.floor(input.now / 1000) - Number(timestamp)) > tolerance) return { ok: false, reason: "stale_timestamp" };
  const keys = input.secrets.map(secretKey).filter((key) => key !== undefined);
  const publicKeys = (input.publicKeys ?? []).map(publicKeyBytes).filter((key) => key !== undefined);
  const entries = signatures.split(" ");
  const tags = decodedEntries(entries, "v1,", 32);
  const asymmetric = decodedEntries(entries, "v1a,", 64);
  if (keys.length + publicKeys.length === 0) {
    // No key that decodes: nothing could verify (the provider's adapter says which is broken).
    return tags.length + asymmetric.length === 0 ? { ok: false, reason: "malformed_signature" } : { ok: false, reason: "no_secret" };
  }
  // No well-formed entry of a scheme a key was given for: a `v1a` entry is never read as `v1`.
  if ((keys.length > 0 ? tags.length : 0) + (publicKeys.length > 0 ? asymmetric.length : 0) === 0) {
    return { ok: false, reason: "malformed_signature" };
  }
  const body = typeof input.body === "string" ? utf8(input.body) : input.body;
  const message = prefixed(utf8(`${id}.${timestamp}.`), body);
  for (const key of keys) {
    for (const tag of tags) if (await verifyHmacSha256(key, message, tag)) return { ok: true };
  }
  for (const key of publicKeys) {
    for (const signature of asymmetric) if (await verifyEd25519(key, message, signature)) return { ok: true };
  }
  return { ok: false, reason: "bad_signature" };
}

/** The signatures of one scheme (`prefix` "v1," or "v1a,") that decode to `length` bytes. */
function decodedEntries(entries: readonly string[], prefix: string, length: number): Uint8Array<ArrayBuffer>[] {
  return entries
    .filter((entry) => entry.startsWith(prefix))
    .map((entry) => fromBase64(entry.slice(prefix.length)))
    .filter((bytes): bytes is Uint8Array<ArrayBuffer> => bytes?.length === length);
}
