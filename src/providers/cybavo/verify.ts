/**
 * CYBAVO SOFA: header `X-CHECKSUM` = base64url (with `=` padding) of SHA-256(raw body ‖ API
 * secret). Not an HMAC: the provider's choice, reproduced exactly (CYBAVO/SOFA_MOCK_SERVER,
 * CYBAVO/API_CHECKSUM_CALC). Docs: docs/providers/cybavo.md.
 */
import { concatBytes, digest, fromBase64UrlPadded, timingSafeEqual, utf8 } from "../../verify/crypto";
import { topLevelMember } from "../../verify/json-text";
import { anySecret, type SignedRequest, type Verifier, type VerifyResult } from "../../verify/types";

export interface CybavoOptions {
  /** wallet_id → API secrets (newest first), for deployments with one API code per wallet. */
  readonly walletSecrets?: Readonly<Record<string, readonly string[]>> | undefined;
}

/**
 * The secrets for the callback's wallet: its own map entry if it has one, else `secrets`.
 * Undefined when the body does not name its wallet unambiguously.
 */
function secretsForWallet(body: Uint8Array, secrets: readonly string[], options: CybavoOptions): readonly string[] | undefined {
  const map = options.walletSecrets;
  if (map === undefined) return secrets;
  // Read with the non-throwing raw scanner, before any parse: the body is still unverified. The
  // id must be plain digits, exactly as a parser reads it: `7.0`, `7e0` or a duplicated key would
  // otherwise let a source-wide secret sign an event a parser then files under another wallet.
  // One pass that keeps no other member: a forged body of 30,000 keys costs a scan, not a map.
  const walletId = topLevelMember(new TextDecoder().decode(body), "wallet_id");
  if (walletId === undefined || walletId.kind !== "number" || !/^(0|[1-9]\d{0,15})$/.test(walletId.raw)) return undefined;
  return Object.hasOwn(map, walletId.raw) ? (map[walletId.raw] ?? []) : secrets;
}

export async function verifyCybavo(request: SignedRequest, secrets: readonly string[], options: CybavoOptions = {}): Promise<VerifyResult> {
  const header = request.headers.get("x-checksum");
  if (header === null) return { ok: false, reason: "missing_signature" };
  const expected = fromBase64UrlPadded(header.trim());
  if (expected === undefined || expected.length !== 32) return { ok: false, reason: "malformed_signature" };
  const candidates = secretsForWallet(request.body, secrets, options);
  if (candidates === undefined) return { ok: false, reason: "malformed_signature" };
  return anySecret(candidates, async (secret) =>
    timingSafeEqual(await digest("SHA-256", concatBytes(request.body, utf8(secret))), expected),
  );
}

/** The registry's entry (src/providers/registry.ts). */
export const verifier: Verifier<"cybavo", CybavoOptions> = { name: "cybavo", verify: verifyCybavo };
