/** Shared shapes of the portable verifiers. Web standards only (see ./index.ts). */

/** A request as received, body still raw bytes. */
export interface SignedRequest {
  readonly body: Uint8Array<ArrayBuffer>;
  readonly headers: Headers;
  readonly method: string;
  /** The whole URL the request was sent to (Cabital signs its path; Coins' HMAC the URL). */
  readonly url: string;
  /** Time of receipt, Unix milliseconds. Passed in so verifiers stay pure. */
  readonly now: number;
}

/** Why a request was refused. Give callers only "unauthorized"; keep the reason for logs. */
export type VerifyFailure = "missing_signature" | "malformed_signature" | "bad_signature" | "stale_timestamp" | "no_secret";

/**
 * A signed nonce the caller must see only once (Cabital): the gateway records it atomically with
 * the event's claim and refuses a repeat until `expiresAt` (Unix ms).
 */
export interface Replay {
  readonly nonce: string;
  readonly expiresAt: number;
}

export type VerifyResult = { ok: true; replay?: Replay } | { ok: false; reason: VerifyFailure };

/** Tries each candidate secret (newest first) until one verifies. */
export async function anySecret(secrets: readonly string[], check: (secret: string) => Promise<boolean>): Promise<VerifyResult> {
  if (secrets.length === 0) return { ok: false, reason: "no_secret" };
  for (const secret of secrets) {
    if (await check(secret)) return { ok: true };
  }
  return { ok: false, reason: "bad_signature" };
}

/** The message `prefix ‖ body` as one byte array. */
export function prefixed(prefix: Uint8Array, body: Uint8Array): Uint8Array<ArrayBuffer> {
  const message = new Uint8Array(prefix.length + body.length);
  message.set(prefix);
  message.set(body, prefix.length);
  return message;
}

/**
 * One provider's signature scheme: what a provider folder's `verify.ts` exports as `verifier`
 * and src/providers/registry.ts lists. The portable module dispatches on it, and the Worker's
 * adapter (the folder's `index.ts`) verifies through it. `Options` are the scheme's settings.
 */
export interface Verifier<Name extends string = string, Options = Record<string, never>> {
  readonly name: Name;
  /** Checks the signature over the raw bytes with `secrets` (newest first). Never throws on hostile input. */
  verify(request: SignedRequest, secrets: readonly string[], options: Options): Promise<VerifyResult>;
  /**
   * Why `options` cannot run the scheme at all (Coins without a `scheme`): the portable `verify`
   * throws it as a TypeError, since it is the caller's mistake, not the sender's. Undefined when
   * they can.
   */
  misuse?(options: Partial<Options>): string | undefined;
}

/** The options a verifier takes. */
export type VerifierOptions<V> = V extends Verifier<string, infer Options> ? Options : never;
