/**
 * Standard Webhooks (https://www.standardwebhooks.com, spec "Verifying webhook authenticity"):
 * how the gateway signs what it sends to origins, how an origin (or a tool) checks it, and how
 * the `standard-webhooks` provider checks what a sender signed. `webhook-signature` holds one or
 * more `v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>`, space-separated; the key is the
 * standard base64 of the secret, after `whsec_`.
 */
import { fromBase64, hmacSha256, toBase64, utf8, verifyHmacSha256 } from "./crypto";
import { prefixed, type VerifyResult } from "./types";

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

/** The `webhook-signature` value: one signature per key (newest first), space-separated. */
export async function signatureHeader(
  keys: readonly Uint8Array<ArrayBuffer>[],
  id: string,
  timestampSeconds: number,
  body: string,
): Promise<string> {
  const signatures = await Promise.all(keys.map((key) => signStandardWebhook(key, id, timestampSeconds, body)));
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
 * with any of `secrets` (each `whsec_` + base64, the prefix optional). Other version tags (`v1a`,
 * the asymmetric scheme) are skipped, never checked as `v1`; a `v1` entry that is not canonical
 * base64 of 32 bytes is skipped too (canonical: a changed signature can never decode to the same
 * bytes). Compared in
 * constant time (`crypto.subtle.verify`). Never throws on hostile input.
 */
export async function verifyStandardWebhook(input: {
  readonly body: string | Uint8Array<ArrayBuffer>;
  readonly headers: Headers;
  readonly secrets: readonly string[];
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
  const tags = signatures
    .split(" ")
    .filter((s) => s.startsWith("v1,"))
    .map((s) => fromBase64(s.slice(3)))
    .filter((tag): tag is Uint8Array<ArrayBuffer> => tag?.length === 32);
  if (tags.length === 0) return { ok: false, reason: "malformed_signature" };
  const keys = input.secrets.map(secretKey).filter((key) => key !== undefined);
  // No secret that decodes: nothing could verify (the provider's adapter says which is broken).
  if (keys.length === 0) return { ok: false, reason: "no_secret" };
  const body = typeof input.body === "string" ? utf8(input.body) : input.body;
  const message = prefixed(utf8(`${id}.${timestamp}.`), body);
  for (const key of keys) {
    for (const tag of tags) if (await verifyHmacSha256(key, message, tag)) return { ok: true };
  }
  return { ok: false, reason: "bad_signature" };
}
