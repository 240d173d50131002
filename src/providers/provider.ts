/**
 * The shape of a provider's adapter: what the Worker needs around its verifier. A provider is a
 * folder, src/providers/<name>/: `verify.ts` (the verifier, Web standards only, also in the
 * webhook-gateway/verify module), `index.ts` (this adapter: option schemas, payload schemas,
 * status tables, normalization and the reply), `signer.mjs` (how the provider signs, for tests
 * and tools; never in the Worker), `fixtures/` and a README that links its doc page. It is
 * registered in ./registry.ts, and ./index.ts (which the compiler holds to the registry) hands
 * its adapter to the Worker: docs/architecture.md "How to add a provider". An adapter never
 * touches storage or the network.
 */
import type * as v from "valibot";
import type { NormalizedEvent } from "../event";
import type { Replay, SignedRequest, VerifyFailure } from "../verify/types";
import type { ProviderName } from "./registry";

export type { Replay, SignedRequest, VerifyFailure, VerifyResult } from "../verify/types";

/** Secrets for one source, already resolved from Worker secret bindings. */
export interface SourceSecrets<Options> {
  /** Values of the source's `secrets` bindings, newest first. */
  readonly secrets: readonly string[];
  /** Values of any other secret binding the provider's options name (binding name → value). */
  readonly named: ReadonlyMap<string, string>;
  readonly options: Options;
}

/**
 * Signed values a scheme carries outside the body, by header name (Standard Webhooks:
 * `webhook-id`, the sender's message id), returned by an adapter's `verify` for its `normalize`
 * and `signedContent`. Schemes that sign everything they need in the body return none.
 */
export type SignedFields = Readonly<Record<string, string>>;

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
  /** Checks the signature over the raw bytes, through the provider's verifier. Never throws on hostile input. */
  verify(request: SignedRequest, keys: SourceSecrets<Options>): Promise<AdapterVerifyResult>;
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
  signedContent?(text: string, options: Options, signed?: SignedFields): string | undefined;
  /** One schema per provider event (a `v.variant`/`v.union`); loose objects, providers add fields. */
  readonly schema: v.GenericSchema<unknown, Payload>;
  /**
   * Maps a valid payload to the gateway's vocabulary, or returns a reason when the payload is
   * well-formed but carries a value the gateway has no mapping for (→ quarantine).
   * `rawText` is the verified body text, for providers whose numbers must be read as text; it
   * has passed `jsonProblem` (one JSON value, no duplicate key, nesting within MAX_JSON_DEPTH),
   * so a raw read of a present member never fails. Identity fields (idempotencyKey, accountKey)
   * must come from signed content only and be read exactly (raw digits, never a double).
   * `signed`: what the adapter's `verify` returned from outside the body, also when an operator
   * re-processes a quarantined callback (the quarantine keeps it with the body); absent for a
   * callback quarantined before the gateway kept it.
   */
  normalize(payload: Payload, rawText: string, signed?: SignedFields): Normalized | { unmapped: string };
  /** The exact reply the provider expects for an accepted callback. */
  readonly ack: { readonly body: string; readonly contentType: string };
}

/**
 * A verification result as the gateway sees it. A refusal may say that the source's own
 * configuration cannot verify anything (`config`: a Coins public key that does not import):
 * that is a fault for a person, logged at `error` with this text, where a forged or stale
 * request is an expected outcome (`info`).
 */
export type AdapterVerifyResult =
  | { ok: true; replay?: Replay; signed?: SignedFields }
  | { ok: false; reason: VerifyFailure; config?: string };

/** Looks a provider value up in a mapping table; undefined when the table has no entry. */
export function lookup<T>(table: Readonly<Record<string, T>>, value: string): T | undefined {
  return Object.hasOwn(table, value) ? table[value] : undefined;
}
