/**
 * Standard Webhooks (https://www.standardwebhooks.com): how the gateway signs what it sends to
 * origins, and how an origin (or a tool) checks it. `webhook-signature` holds one or more
 * `v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>`, space-separated; the key is the base64
 * after `whsec_`.
 */
import { fromBase64, hmacSha256, toBase64, utf8, verifyHmacSha256 } from "./crypto";
import type { VerifyResult } from "./types";

/** Decodes a `whsec_...` secret; throws a TypeError for a malformed one (misuse, not input). */
export function webhookKey(secret: string): Uint8Array<ArrayBuffer> {
  const key = secret.startsWith("whsec_") ? fromBase64(secret.slice(6)) : undefined;
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

/**
 * Checks a received webhook: the timestamp within `toleranceSeconds` (default 300) of `now`, and
 * any `v1` signature made with any of `secrets`. Never throws on hostile input.
 */
export async function verifyStandardWebhook(input: {
  readonly body: string;
  readonly headers: Headers;
  readonly secrets: readonly string[];
  readonly now: number;
  readonly toleranceSeconds?: number;
}): Promise<VerifyResult> {
  const id = input.headers.get("webhook-id");
  const timestamp = input.headers.get("webhook-timestamp");
  const signatures = input.headers.get("webhook-signature");
  if (id === null || timestamp === null || signatures === null) return { ok: false, reason: "missing_signature" };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: "malformed_signature" };
  if (Math.abs(input.now - Number(timestamp) * 1000) > (input.toleranceSeconds ?? 300) * 1000)
    return { ok: false, reason: "stale_timestamp" };
  const tags = signatures
    .split(" ")
    .filter((s) => s.startsWith("v1,"))
    .map((s) => fromBase64(s.slice(3)))
    .filter((tag) => tag !== undefined);
  if (tags.length === 0) return { ok: false, reason: "malformed_signature" };
  const message = utf8(`${id}.${timestamp}.${input.body}`);
  for (const secret of input.secrets) {
    const key = secret.startsWith("whsec_") ? fromBase64(secret.slice(6)) : undefined;
    if (key === undefined) continue;
    for (const tag of tags) if (await verifyHmacSha256(key, message, tag)) return { ok: true };
  }
  return { ok: false, reason: input.secrets.length === 0 ? "no_secret" : "bad_signature" };
}
