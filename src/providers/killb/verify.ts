/**
 * KillB: header `x-signature-sha256` = lowercase hex HMAC-SHA256(webhook secret, raw body)
 * (docs.killb.com "Webhook security"). No timestamp: the signed envelope's `attempts` changes on
 * every retry. Docs: docs/providers/killb.md.
 */
import { fromHex, utf8, verifyHmacSha256 } from "../../verify/crypto";
import { anySecret, type SignedRequest, type Verifier, type VerifyResult } from "../../verify/types";

export async function verifyKillb(request: SignedRequest, secrets: readonly string[]): Promise<VerifyResult> {
  const header = request.headers.get("x-signature-sha256");
  if (header === null) return { ok: false, reason: "missing_signature" };
  // Lowercase hex only: accepting both cases would let a changed signature still verify.
  const tag = /^[0-9a-f]{64}$/.test(header.trim()) ? fromHex(header.trim()) : undefined;
  if (tag === undefined) return { ok: false, reason: "malformed_signature" };
  return anySecret(secrets, (secret) => verifyHmacSha256(utf8(secret), request.body, tag));
}

/** The registry's entry (src/providers/registry.ts). KillB has no options. */
export const verifier: Verifier<"killb"> = { name: "killb", verify: (request, secrets) => verifyKillb(request, secrets) };
