/**
 * Destinations: where each source's events go and how they are signed. A destination is an
 * origin URL (and the client certificate presented to it, if any); every source that names the
 * same one shares it, and with it one `Destination` Durable Object (src/destination/): its
 * circuit breaker, its delivery ceiling and its source pauses. Signing is per source: sources
 * sharing a URL may sign with different keys. The operations webhook (src/ops/) is a target
 * without a destination object: no breaker, no ceiling, so nothing about it can raise an
 * operational event about itself.
 */

/** Keys a source's events are signed with (Standard Webhooks), newest first. */
export interface OriginSigning {
  /** `v1`: HMAC-SHA256 keys (the bytes after `whsec_`). */
  readonly hmac: readonly Uint8Array<ArrayBuffer>[];
  /** `v1a`: Ed25519 signing keys (the bytes after `whsk_`: a 32-byte seed, or 64 bytes: seed then public key). */
  readonly ed25519: readonly Uint8Array<ArrayBuffer>[];
}

export interface DestinationConfig {
  /** Stable short id: names its Durable Object and its admin routes (`destinationId`). */
  readonly id: string;
  readonly url: string;
  /** The mTLS certificate binding presented to the origin, by name; undefined: none. */
  readonly certificate?: string;
  /** The sources delivering here, in configuration order. */
  readonly sources: readonly string[];
}

/** Where one event goes, resolved per attempt from the configuration. */
export interface OriginTarget {
  /** The destination object that guards this URL; undefined for the operations webhook. */
  readonly destination?: DestinationConfig;
  readonly url: string;
  readonly signing: OriginSigning;
  /** The certificate binding's `fetch` (mTLS); undefined: the global `fetch`. */
  readonly fetcher?: Fetcher;
}

/**
 * What `targetFor` reads of the configuration (GatewayConfig has it): the sources' destinations
 * and keys, and the operations webhook. Declared here so this module does not import the
 * configuration's (no import cycle).
 */
export interface Targets {
  readonly sources: ReadonlyMap<string, { readonly destination: DestinationConfig; readonly signing: OriginSigning }>;
  readonly ops?: { readonly url: string; readonly signing: OriginSigning };
}

/** The reserved source name of the operations webhook's outbox: never a valid source name (src/config.ts). */
export const OPS_SOURCE = "~ops";

/**
 * A destination's id: 16 hex digits of FNV-1a 64 over its URL and certificate binding name.
 * Synchronous (the configuration is parsed synchronously) and stable across deploys; the
 * configuration refuses two destinations whose ids collide.
 */
export function destinationId(url: string, certificate: string | undefined): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(`${url}\n${certificate ?? ""}`)) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, "0");
}

/**
 * Where an event of `source` goes now, or undefined when the source is no longer configured (the
 * outbox keeps the event and tries later). `env` gives the certificate binding.
 */
export function targetFor(config: Targets, env: Env, source: string): OriginTarget | undefined {
  if (source === OPS_SOURCE) return config.ops === undefined ? undefined : { url: config.ops.url, signing: config.ops.signing };
  const configured = config.sources.get(source);
  if (configured === undefined) return undefined;
  const { destination } = configured;
  const binding = destination.certificate === undefined ? undefined : (env as unknown as Record<string, unknown>)[destination.certificate];
  return {
    destination,
    url: destination.url,
    signing: configured.signing,
    ...(binding !== undefined && { fetcher: binding as Fetcher }),
  };
}
