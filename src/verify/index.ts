/**
 * webhook-gateway/verify: the gateway's signature verifiers as a standalone module. It depends
 * on Web standards only (`crypto.subtle`, `TextEncoder`, `Uint8Array`): the same code runs in
 * Cloudflare Workers (where the gateway uses it), Node 20+, Deno and browsers. No runtime
 * dependencies. Usage: docs/verify.md.
 *
 * One verb per job: `verify(provider, input)` checks a provider's callback; `signWebhook` and
 * `verifyWebhook` do the gateway's outbound Standard Webhooks signature. A mismatch or hostile
 * input is `{ ok: false, reason }`, never an exception; misuse (an unknown provider, a
 * malformed `whsec_` secret to sign with) throws a TypeError.
 */
import { type CabitalOptions, verifyCabital } from "../providers/cabital/verify";
import { type CoinsOptions, verifyCoins } from "../providers/coins/verify";
import { type CregisOptions, verifyCregis } from "../providers/cregis/verify";
import { type CybavoOptions, verifyCybavo } from "../providers/cybavo/verify";
import { verifyKillb } from "../providers/killb/verify";
import { signatureHeader, verifyStandardWebhook, webhookKey } from "./standard-webhooks";
import type { SignedRequest, VerifyResult } from "./types";

export type { Replay, SignedRequest, VerifyFailure, VerifyResult } from "./types";
export type { CabitalOptions, CoinsOptions, CregisOptions, CybavoOptions };

/** Options each provider takes (all optional but Coins' `scheme`). */
export interface ProviderOptions {
  cybavo: CybavoOptions;
  cregis: CregisOptions;
  killb: Record<string, never>;
  cabital: CabitalOptions;
  coins: CoinsOptions;
}
export type Provider = keyof ProviderOptions;

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

export const PROVIDERS: readonly Provider[] = ["cybavo", "cregis", "killb", "cabital", "coins"];

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
  if (!PROVIDERS.includes(provider)) throw new TypeError(`verify: unknown provider ${String(provider)}`);
  const request = signedRequest(input);
  if (request === undefined) return { ok: false, reason: "malformed_signature" };
  const secrets = input.secrets ?? [];
  const options = (input.options ?? {}) as ProviderOptions[Provider];
  switch (provider) {
    case "cybavo":
      return verifyCybavo(request, secrets, options as CybavoOptions);
    case "cregis":
      return verifyCregis(request, secrets, options as CregisOptions);
    case "killb":
      return verifyKillb(request, secrets);
    case "cabital":
      return verifyCabital(request, secrets, options as CabitalOptions);
    default:
      if ((options as Partial<CoinsOptions>).scheme === undefined) throw new TypeError("verify: coins needs options.scheme");
      return verifyCoins(request, secrets, options as CoinsOptions);
  }
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
