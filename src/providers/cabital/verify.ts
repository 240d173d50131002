/**
 * Cabital Connect: webhooks are signed like Cabital's API requests. Headers ACCESS-KEY,
 * ACCESS-TIMESTAMP (Unix s), ACCESS-NONCE, ACCESS-SIGN = standard Base64 of HMAC-SHA256(secret,
 * timestamp "\n" METHOD "\n" nonce "\n" pathWithQuery "\n" rawBody). The timestamp must be in the
 * window; the caller must accept each returned nonce once (`replay`). Docs: docs/providers/cabital.md.
 */
import { fromBase64, utf8, verifyHmacSha256 } from "../../verify/crypto";
import { anySecret, prefixed, type SignedRequest, type Verifier, type VerifyResult } from "../../verify/types";

/** Nonces are remembered this long (Cabital rejects a nonce repeated within 60 minutes). */
export const NONCE_TTL_MS = 60 * 60 * 1000;
export const CABITAL_DEFAULT_TOLERANCE_SECONDS = 300;

export interface CabitalOptions {
  /** Accepted clock difference in seconds, either way (default 300, at most 1800). */
  readonly toleranceSeconds?: number | undefined;
  /** The path (and query) Cabital called, when a proxy rewrites it. Default: the request URL's. */
  readonly signedPath?: string | undefined;
  /** "newline" (current docs, default) or "legacy-concat" (older docs: no separators). */
  readonly layout?: "newline" | "legacy-concat" | undefined;
  /** When set, ACCESS-KEY must equal it. */
  readonly accessKey?: string | undefined;
}

/** The exact text Cabital signs, before the body. */
export function cabitalSigningText(
  layout: CabitalOptions["layout"],
  timestamp: string,
  method: string,
  nonce: string,
  path: string,
): string {
  const parts = [timestamp, method.toUpperCase(), nonce, path, ""];
  return layout === "legacy-concat" ? parts.join("") : parts.join("\n");
}

export async function verifyCabital(
  request: SignedRequest,
  secrets: readonly string[],
  options: CabitalOptions = {},
): Promise<VerifyResult> {
  const h = (name: string) => request.headers.get(name)?.trim();
  const [key, timestamp, nonce, sign] = [h("access-key"), h("access-timestamp"), h("access-nonce"), h("access-sign")];
  if (sign === undefined || timestamp === undefined || nonce === undefined || key === undefined)
    return { ok: false, reason: "missing_signature" };
  const tag = fromBase64(sign);
  if (tag === undefined || !/^\d{1,12}$/.test(timestamp) || nonce === "" || nonce.length > 128)
    return { ok: false, reason: "malformed_signature" };
  if (options.accessKey !== undefined && key !== options.accessKey) return { ok: false, reason: "bad_signature" };
  const tolerance = Math.min(options.toleranceSeconds ?? CABITAL_DEFAULT_TOLERANCE_SECONDS, 1800);
  if (Math.abs(request.now - Number(timestamp) * 1000) > tolerance * 1000) return { ok: false, reason: "stale_timestamp" };
  let path = options.signedPath;
  if (path === undefined) {
    try {
      const url = new URL(request.url);
      path = url.pathname + url.search;
    } catch {
      // A URL that does not parse has no path to sign: refused like any malformed signature
      // (the reason reaches the caller's log line). The gateway's request URLs always parse.
      return { ok: false, reason: "malformed_signature" };
    }
  }
  const message = prefixed(utf8(cabitalSigningText(options.layout, timestamp, request.method, nonce, path)), request.body);
  const result = await anySecret(secrets, (secret) => verifyHmacSha256(utf8(secret), message, tag));
  // A verified nonce is remembered for 60 minutes: longer than the 2 × tolerance a timestamp is
  // accepted for. ACCESS-KEY is not signed, so it is not part of the nonce's key.
  return result.ok ? { ok: true, replay: { nonce, expiresAt: request.now + NONCE_TTL_MS } } : result;
}

/** The registry's entry (src/providers/registry.ts). */
export const verifier: Verifier<"cabital", CabitalOptions> = { name: "cabital", verify: verifyCabital };
