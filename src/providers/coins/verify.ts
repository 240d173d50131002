/**
 * Coins Access: the webhook signature scheme is not published, so the caller chooses one agreed
 * with Coins at onboarding (docs/providers/coins.md):
 * - `rsa-sha256`: Base64 RSASSA-PKCS1-v1_5 SHA-256 signature of the raw body in a header,
 *   checked with Coins' PEM public key (their documented "SHA256withRSA");
 * - `hmac-sha256`: the merchant-API layout: X-Merchant-Key, X-Timestamp, and X-Merchant-Sign =
 *   lowercase hex HMAC-SHA256(secret, timestamp + URL + body), within a time window;
 * - `token`: a static header token (older Coins.ph webhooks: `Authorization: Token ...`).
 */
import { fromBase64, fromHex, timingSafeEqual, utf8, verifyHmacSha256 } from "../../verify/crypto";
import { anySecret, prefixed, type SignedRequest, type Verifier, type VerifyResult } from "../../verify/types";

export const COINS_DEFAULT_TOLERANCE_SECONDS = 300;
export const PEM_PUBLIC_KEY = /^-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----\s*$/;

export interface CoinsOptions {
  readonly scheme: "rsa-sha256" | "hmac-sha256" | "token";
  /** rsa-sha256: Coins' PEM public key (SPKI, "BEGIN PUBLIC KEY"). */
  readonly publicKey?: string | undefined;
  /** rsa-sha256: the header carrying the Base64 signature (default x-signature). */
  readonly signatureHeader?: string | undefined;
  /** hmac-sha256: the URL Coins signs, when it differs from the request's (proxies). */
  readonly signedUrl?: string | undefined;
  /** hmac-sha256: accepted clock difference in seconds, either way (default 300). */
  readonly toleranceSeconds?: number | undefined;
  /** hmac-sha256: when set, X-Merchant-Key must equal it. */
  readonly merchantKey?: string | undefined;
  /** token: the header carrying it (default authorization) and the text before it (default "Token "). */
  readonly tokenHeader?: string | undefined;
  readonly tokenPrefix?: string | undefined;
}

// Imported keys are cached per runtime instance: import costs more than a verify.
const rsaKeys = new Map<string, Promise<CryptoKey>>();

function rsaKey(pem: string): Promise<CryptoKey> {
  let key = rsaKeys.get(pem);
  if (key === undefined) {
    const der = fromBase64((PEM_PUBLIC_KEY.exec(pem)?.[1] ?? "").replace(/\s+/g, ""));
    key = der
      ? crypto.subtle.importKey("spki", der, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["verify"])
      : Promise.reject(new TypeError("coins: publicKey is not a PEM public key"));
    rsaKeys.set(pem, key);
  }
  return key;
}

async function verifyRsa(request: SignedRequest, options: CoinsOptions): Promise<VerifyResult> {
  const value = request.headers.get(options.signatureHeader ?? "x-signature");
  if (value === null) return { ok: false, reason: "missing_signature" };
  const signature = fromBase64(value.trim());
  if (signature === undefined) return { ok: false, reason: "malformed_signature" };
  if (options.publicKey === undefined) return { ok: false, reason: "no_secret" };
  let key: CryptoKey;
  try {
    key = await rsaKey(options.publicKey);
  } catch {
    // A key that does not import can verify nothing: fail closed. This module is pure and does
    // not log; `publicKeyProblem` names the failure for a caller that does (the gateway).
    return { ok: false, reason: "no_secret" };
  }
  const ok = await crypto.subtle.verify("RSASSA-PKCS1-v1_5", key, signature, request.body);
  return ok ? { ok: true } : { ok: false, reason: "bad_signature" };
}

/** Why a PEM public key cannot verify anything (its import error's name), or undefined when it imports. */
export async function publicKeyProblem(pem: string): Promise<string | undefined> {
  try {
    await rsaKey(pem);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.name : String(err);
  }
}

async function verifyHmac(request: SignedRequest, secrets: readonly string[], options: CoinsOptions): Promise<VerifyResult> {
  const [merchantKey, timestamp, sign] = ["x-merchant-key", "x-timestamp", "x-merchant-sign"].map((h) => request.headers.get(h)?.trim());
  if (sign === undefined || timestamp === undefined) return { ok: false, reason: "missing_signature" };
  const tag = /^[0-9a-f]{64}$/.test(sign) ? fromHex(sign) : undefined;
  if (tag === undefined || !/^\d{1,16}$/.test(timestamp)) return { ok: false, reason: "malformed_signature" };
  if (options.merchantKey !== undefined && merchantKey !== options.merchantKey) return { ok: false, reason: "bad_signature" };
  // Coins' merchant API uses milliseconds; seconds are accepted too (13 digits = ms until 2286).
  const ms = timestamp.length >= 13 ? Number(timestamp) : Number(timestamp) * 1000;
  if (Math.abs(request.now - ms) > (options.toleranceSeconds ?? COINS_DEFAULT_TOLERANCE_SECONDS) * 1000)
    return { ok: false, reason: "stale_timestamp" };
  const message = prefixed(utf8(timestamp + (options.signedUrl ?? request.url)), request.body);
  return anySecret(secrets, (secret) => verifyHmacSha256(utf8(secret), message, tag));
}

async function verifyToken(request: SignedRequest, secrets: readonly string[], options: CoinsOptions): Promise<VerifyResult> {
  const value = request.headers.get(options.tokenHeader ?? "authorization");
  if (value === null) return { ok: false, reason: "missing_signature" };
  const presented = utf8(value.trim());
  // Constant-time over the whole header value; a wrong length is simply false.
  return anySecret(secrets, async (secret) => timingSafeEqual(presented, utf8((options.tokenPrefix ?? "Token ") + secret)));
}

export function verifyCoins(request: SignedRequest, secrets: readonly string[], options: CoinsOptions): Promise<VerifyResult> {
  switch (options.scheme) {
    case "rsa-sha256":
      return verifyRsa(request, options);
    case "hmac-sha256":
      return verifyHmac(request, secrets, options);
    case "token":
      return verifyToken(request, secrets, options);
    default:
      return Promise.resolve({ ok: false, reason: "no_secret" });
  }
}

/** The registry's entry (src/providers/registry.ts). Coins publishes no scheme, so there is no default: the caller names one. */
export const verifier: Verifier<"coins", CoinsOptions> = {
  name: "coins",
  verify: verifyCoins,
  misuse: (options) => (options.scheme === undefined ? "coins needs options.scheme" : undefined),
};
