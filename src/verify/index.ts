/**
 * webhook-gateway/verify: the gateway's signature verifiers as a standalone module. It depends
 * on Web standards only (`crypto.subtle`, `TextEncoder`, `Uint8Array`): the same code runs in
 * Cloudflare Workers (where the gateway uses it), Node 22+, Deno and browsers. No runtime
 * dependencies. Usage: docs/verify.md.
 *
 * One verb per job: `verify(provider, input)` checks a provider's callback; `signWebhook` and
 * `verifyWebhook` do the gateway's outbound Standard Webhooks signature. A mismatch or hostile
 * input is `{ ok: false, reason }`, never an exception; misuse (an unknown provider, a
 * malformed `whsec_` secret to sign with) throws a TypeError.
 */
import { PROVIDER_NAMES, type ProviderName, VERIFIERS } from "../providers/registry";
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

/**
 * Signs an outbound event as the gateway does: returns the three Standard Webhooks headers.
 * `secrets` are `whsec_...` values, newest first; each adds a signature.
 */
export async function signWebhook(input: {
  id: string;
  body: string;
  secrets: readonly string[];
  timestamp?: number;
}): Promise<Record<string, string>> {
  const timestamp = input.timestamp ?? Math.floor(Date.now() / 1000);
  const keys = input.secrets.map(webhookKey);
  return {
    "webhook-id": input.id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": await signatureHeader(keys, input.id, timestamp, input.body),
  };
}

/** Verifies an event the gateway sent (what an origin does). */
export async function verifyWebhook(input: {
  body: string;
  headers: VerifyInput<Provider>["headers"];
  secrets: readonly string[];
  now?: number;
  toleranceSeconds?: number;
}): Promise<VerifyResult> {
  const headers = toHeaders(input.headers);
  if (headers === undefined) return { ok: false, reason: "malformed_signature" };
  return verifyStandardWebhook({
    body: input.body,
    headers,
    secrets: input.secrets,
    now: input.now ?? Date.now(),
    ...(input.toleranceSeconds !== undefined && { toleranceSeconds: input.toleranceSeconds }),
  });
}
