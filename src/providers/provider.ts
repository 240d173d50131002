/**
 * The shape every provider adapter has. A provider *describes* its scheme (headers, signed
 * content, encoding) and calls the shared helpers in ../crypto.ts to compute; it never touches
 * storage or the network. Adding a provider = one file exporting a `Provider`, one line in
 * ./index.ts, and a fixtures folder.
 */
import type * as v from "valibot";
import type { NormalizedEvent, ProviderName } from "../event";

/** The request as received, body still raw bytes. */
export interface InboundRequest {
  readonly body: Uint8Array<ArrayBuffer>;
  readonly headers: Headers;
  readonly method: string;
  /** Path and query of the URL the Worker saw, e.g. `/webhooks/cabital?x=1`. */
  readonly pathWithQuery: string;
  /** The whole URL the Worker saw. */
  readonly url: string;
  /** Receipt time, Unix milliseconds. Passed in so verifiers stay pure. */
  readonly now: number;
}

/** Secrets for one source, already resolved from Worker secret bindings. */
export interface SourceSecrets<Options> {
  /** Values of the source's `secrets` bindings, newest first. */
  readonly secrets: readonly string[];
  /** Values of any other secret binding the provider's options name (binding name → value). */
  readonly named: ReadonlyMap<string, string>;
  readonly options: Options;
}

export type VerifyFailure = "missing_signature" | "malformed_signature" | "bad_signature" | "stale_timestamp" | "no_secret";

/**
 * A signed nonce the gateway must see only once: the account's Durable Object records it next
 * to the claim, atomically, and refuses a repeat until `expiresAt` (Unix ms).
 */
export interface Replay {
  readonly nonce: string;
  readonly expiresAt: number;
}

export type VerifyResult = { ok: true; replay?: Replay } | { ok: false; reason: VerifyFailure };

/** A verified, schema-valid callback in the gateway's vocabulary. */
export interface Normalized {
  readonly event: NormalizedEvent;
  /** The provider's idempotency key: the same callback (incl. retries) always has the same key. */
  readonly idempotencyKey: string;
  /** The unit of ordering: events of one account are delivered in order. */
  readonly accountKey: string;
  /** Provider's event time (RFC 3339), if it sends one. */
  readonly time?: string;
}

export interface Provider<Options = unknown, Payload = unknown> {
  readonly name: ProviderName;
  /** Provider-specific source options (the fields of a `SOURCES` entry besides the common ones). */
  readonly options: v.GenericSchema<unknown, Options>;
  /** Names of extra secret bindings the options refer to, so config can check they exist. */
  secretBindings(options: Options): readonly string[];
  /**
   * Says what is missing when the options and secrets give no usable verification (a source
   * never runs without one). Providers that verify with `secrets` alone need not define it.
   */
  configError?(options: Options, secretCount: number): string | undefined;
  /** Checks the signature over the raw bytes. Never throws on hostile input. */
  verify(request: InboundRequest, keys: SourceSecrets<Options>): Promise<VerifyResult>;
  /** One schema per provider event (a `v.variant`/`v.union`); loose objects, providers add fields. */
  readonly schema: v.GenericSchema<unknown, Payload>;
  /**
   * Maps a valid payload to the gateway's vocabulary, or returns a reason when the payload is
   * well-formed but carries a value the gateway has no mapping for (→ quarantine).
   * `rawText` is the verified body text, for providers whose numbers must be read as text.
   */
  normalize(payload: Payload, rawText: string): Normalized | { unmapped: string };
  /** The exact reply the provider expects for an accepted callback. */
  readonly ack: { readonly body: string; readonly contentType: string };
}

/** Helper for adapters: tries each candidate secret (newest first) until one verifies. */
export async function anySecret(secrets: readonly string[], check: (secret: string) => Promise<boolean>): Promise<VerifyResult> {
  if (secrets.length === 0) return { ok: false, reason: "no_secret" };
  for (const secret of secrets) {
    if (await check(secret)) return { ok: true };
  }
  return { ok: false, reason: "bad_signature" };
}
