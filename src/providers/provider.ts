/**
 * The shape every provider adapter has. Verification itself lives in ../verify/ (portable, Web
 * standards only, shared with the webhook-gateway/verify module); an adapter adds what the
 * gateway needs around it: option schemas, payload schemas, normalization and the reply. It
 * never touches storage or the network. Adding a provider = one file exporting a `Provider`, one line in
 * ./index.ts, and a fixtures folder.
 */
import type * as v from "valibot";
import type { NormalizedEvent, ProviderName } from "../event";
import type { SignedRequest, VerifyResult } from "../verify/types";

export type { Replay, SignedRequest, VerifyFailure, VerifyResult } from "../verify/types";

/** Secrets for one source, already resolved from Worker secret bindings. */
export interface SourceSecrets<Options> {
  /** Values of the source's `secrets` bindings, newest first. */
  readonly secrets: readonly string[];
  /** Values of any other secret binding the provider's options name (binding name → value). */
  readonly named: ReadonlyMap<string, string>;
  readonly options: Options;
}

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
  verify(request: SignedRequest, keys: SourceSecrets<Options>): Promise<VerifyResult>;
  /**
   * What the schema reads: the verified body as its signature sees it. Default: `JSON.parse` of
   * the text (signatures over the raw bytes cover all of it). A scheme that ignores parts of the
   * body (Cregis: member order, whitespace, null and "" members, a scalar's JSON type) returns
   * only what it signs, so unsigned changes can never change an event's identity. A reason
   * instead when the body has no reading the gateway can trust (→ quarantine with it).
   */
  view?(text: string, options: Options): { value: unknown } | { reason: string };
  /**
   * The content the signature covers after removing what it ignores, as text: a quarantined
   * callback's identity is its hash, so signature-equivalent variants are one entry.
   * Default: the body bytes.
   */
  signedContent?(text: string, options: Options): string | undefined;
  /** One schema per provider event (a `v.variant`/`v.union`); loose objects, providers add fields. */
  readonly schema: v.GenericSchema<unknown, Payload>;
  /**
   * Maps a valid payload to the gateway's vocabulary, or returns a reason when the payload is
   * well-formed but carries a value the gateway has no mapping for (→ quarantine).
   * `rawText` is the verified body text, for providers whose numbers must be read as text; it
   * has passed `jsonProblem` (one JSON value, no duplicate key, nesting within MAX_JSON_DEPTH),
   * so a raw read of a present member never fails. Identity fields (idempotencyKey, accountKey)
   * must come from signed content only and be read exactly (raw digits, never a double).
   */
  normalize(payload: Payload, rawText: string): Normalized | { unmapped: string };
  /** The exact reply the provider expects for an accepted callback. */
  readonly ack: { readonly body: string; readonly contentType: string };
}

/** Looks a provider value up in a mapping table; undefined when the table has no entry. */
export function lookup<T>(table: Readonly<Record<string, T>>, value: string): T | undefined {
  return Object.hasOwn(table, value) ? table[value] : undefined;
}
