/** Types of scripts/v1a-vectors.mjs for the tests that import it. */
export interface V1aKey {
  /** `whsk_` + base64 of the 64-byte secret key (seed, then public key). */
  signingKey: string;
  /** `whsk_` + base64 of the 32-byte seed alone. */
  seedOnly: string;
  /** `whpk_` + base64 of the 32-byte public key. */
  publicKey: string;
}

export interface V1aValidCase {
  name: string;
  id: string;
  timestamp: number;
  body: string;
  /** Key names ("current", or "current:seedOnly" for the seed form), newest first. */
  signingKeys: string[];
  /** Names in `secrets`. */
  secrets: string[];
  /** The expected `webhook-signature`. */
  signature: string;
}

export interface V1aInvalidCase {
  name: string;
  id: string;
  timestamp: number;
  body: string;
  signature: string;
  secrets: string[];
  publicKeys: string[];
  now: number;
  reason: "bad_signature" | "stale_timestamp" | "malformed_signature";
}

export interface V1aVectors {
  description: string;
  scheme: Record<string, string | number>;
  keys: { current: V1aKey; previous: V1aKey; other: V1aKey };
  secrets: { hmac: string };
  valid: V1aValidCase[];
  invalid: V1aInvalidCase[];
}

export const VECTORS_FILE: string;
export function makeVectors(): V1aVectors;
export function vectorsUpToDate(): boolean;
