/**
 * webhook-gateway/verify: the gateway's signature verifiers as a standalone module. It depends
 * on Web standards only (`crypto.subtle`, `TextEncoder`, `Uint8Array`): the same code runs in
 * Cloudflare Workers (where the gateway uses it), Node 22+, Deno and browsers. No runtime
 * dependencies. Usage: docs/verify.md.
 *
 * One verb per job: `verify(provider, input)` checks a provider's callback; `signWebhook` and
 * `verifyWebhook` do the gateway's outbound Standard Webhooks signature (`v1` HMAC and `v1a`
 * Ed25519); `publicKeyOf` gives a `whsk_` signing key's `whpk_` public key. A mismatch or hostile
 * input is `{ ok: false, reason }`, never an exception; misuse (an unknown provider, a
 * malformed `whsec_` secret or `whsk_` key to sign with) throws a TypeError.
 */
import { PROVIDER_NAMES, type ProviderName, VERIFIERS } from "../providers/registry";
import { toBase64 } from "./crypto";
import { ed25519PublicKey, PUBLIC_KEY_PREFIX, signingKeyBytes } from "./ed25519";
import { signatureHeader, verifyStandardWebhook, webhookKey } from "./standard-webhooks";
import type { SignedRequest, Verifier, VerifierOptions, VerifyResult } from "./types";

export type { Replay, SignedRequest, VerifyFailure, VerifyResult } from "./types";

/** Options each provider takes (all optional but Coins' `scheme`): each verifier's own. */
export type ProviderOptions = { [P in ProviderName]: VerifierOptions<(typeof VERIFIERS)[P]> };
export type CybavoOptions = ProviderOptions["cybavo"];
export type CregisOptions = ProviderOptions["cregis"];
export type CabitalOptions = ProviderOptions["cabital"];
export type CoinsOptions = ProviderOptions["coins"];
/** A registered provider's name (src/providers/registry.ts). */
export type Provider = ProviderName;

export interface VerifyInput<P extends Provider> {
  /** The raw body exactly as received: bytes, or a string (encoded as UTF-8). */
  readonly body: Uint8Array | ArrayBuffer | string;
  /** Request headers: a Headers object or a plain object (e.g. Node's IncomingHttpHeaders). */
  readonly headers: Headers | Readonly<Record<string, string | readonly string[] | undefined>>;
  /** Secrets to accept, newest first (rotation). Not needed by Coins' rsa-sha256. */
  readonly secrets?: readonly string[];
  /** The full URL the provider called (Cabital signs its path; Coins' hmac-sha256 the URL). */
  readonly url?: string;
  /** HTTP method; default POST. */
  readonly method?: string;
  /** Now, Unix milliseconds; default Date.now(). For timestamped schemes. */
  readonly now?: number;
  readonly options?: ProviderOptions[P];
}

export const PROVIDERS: readonly Provider[] = PROVIDER_NAMES;

function toHeaders(headers: VerifyInput<Provider>["headers"]): Headers | undefined {
  if (headers instanceof Headers) return headers;
  const out = new Headers();
  try {
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined) continue;
      for (const v of typeof value === "string" ? [value] : value) out.append(name, v);
    }
  } catch {
    return undefined; // a value no HTTP request could carry
  }
  return out;
}

function toBytes(body: VerifyInput<Provider>["body"]): Uint8Array<ArrayBuffer> {
  if (typeof body === "string") return new TextEncoder().encode(body) as Uint8Array<ArrayBuffer>;
  return body instanceof Uint8Array ? (new Uint8Array(body) as Uint8Array<ArrayBuffer>) : new Uint8Array(body);
}

/** Builds the request the verifiers take. */
export function signedRequest(input: VerifyInput<Provider>): SignedRequest | undefined {
  const headers = toHeaders(input.headers);
  if (headers === undefined) return undefined;
  return { body: toBytes(input.body), headers, method: input.method ?? "POST", url: input.url ?? "", now: input.now ?? Date.now() };
}

/**
 * Verifies a provider callback over its raw bytes. Resolves `{ ok: true }` (Cabital adds the
 * `replay` nonce to remember for 60 minutes) or `{ ok: false, reason }`.
 */
export async function verify<P extends Provider>(provider: P, input: VerifyInput<P>): Promise<VerifyResult> {
  // Looked up in the registry: a name it does not hold is the caller's mistake, never another
  // provider's scheme.
  if (typeof provider !== "string" || !Object.hasOwn(VERIFIERS, provider)) {
    throw new TypeError(`verify: unknown provider ${String(provider)}`);
  }
  // One verifier, its options erased: the registry pairs each name with its own verifier.
  const verifier = VERIFIERS[provider] as Verifier<string, unknown>;
  const request = signedRequest(input);
  if (request === undefined) return { ok: false, reason: "malformed_signature" };
  const options = input.options ?? {};
  const misuse = verifier.misuse?.(options);
  if (misuse !== undefined) throw new TypeError(`verify: ${misuse}`);
  return verifier.verify(request, input.secrets ?? [], options);
}

/** Decodes a `whsk_...` key to sign with; throws a TypeError for a malformed one (misuse, not input). */
function signingKey(key: string): Uint8Array<ArrayBuffer> {
  const bytes = signingKeyBytes(key);
  if (bytes === undefined) throw new TypeError("standard-webhooks: a signing key is whsk_ followed by standard base64 of 32 or 64 bytes");
  return bytes;
}

/**
 * Signs an outbound event as the gateway does: returns the three Standard Webhooks headers.
 * `secrets` are `whsec_...` values (each adds a `v1` signature), `signingKeys` are `whsk_...`
 * values (each adds a `v1a` Ed25519 signature), each newest first; at least one in all.
 */
export async function signWebhook(input: {
  id: string;
  body: string;
  secrets?: readonly string[];
  signingKeys?: readonly string[];
  timestamp?: number;
}): Promise<Record<string, string>> {
  const timestamp = input.timestamp ?? Math.floor(Date.now() / 1000);
  const hmac = (input.secrets ?? []).map(webhookKey);
  const ed25519 = (input.signingKeys ?? []).map(signingKey);
  if (hmac.length + ed25519.length === 0) throw new TypeError("signWebhook: give at least one secret (whsec_) or signing key (whsk_)");
  return {
    "webhook-id": input.id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": await signatureHeader({ hmac, ed25519 }, input.id, timestamp, input.body),
  };
}

/**
 * The `whpk_` public key of a `whsk_` signing key: what an origin configures to verify `v1a`.
 * Throws a TypeError for a malformed key, or a 64-byte key whose second half is not its public key.
 */
export async function publicKeyOf(signingKeyText: string): Promise<string> {
  return `${PUBLIC_KEY_PREFIX}${toBase64(await ed25519PublicKey(signingKey(signingKeyText)))}`;
}

/**
 * Verifies an event the gateway sent (what an origin does): any `v1` entry made with one of
 * `secrets` (`whsec_...`), or any `v1a` entry made by one of `publicKeys` (`whpk_...`), within
 * `toleranceSeconds` (default 300) of `now`. Give both lists during a move from one scheme to
 * the other; an entry of a scheme you gave no key for is skipped.
 */
export async function verifyWebhook(input: {
  body: string;
  headers: VerifyInput<Provider>["headers"];
  secrets?: readonly string[];
  publicKeys?: readonly string[];
  now?: number;
  toleranceSeconds?: number;
}): Promise<VerifyResult> {
  const headers = toHeaders(input.headers);
  if (headers === undefined) return { ok: false, reason: "malformed_signature" };
  return verifyStandardWebhook({
    body: input.body,
    headers,
    secrets: input.secrets ?? [],
    publicKeys: input.publicKeys ?? [],
    now: input.now ?? Date.now(),
    ...(input.toleranceSeconds !== undefined && { toleranceSeconds: input.toleranceSeconds }),
  });
}
