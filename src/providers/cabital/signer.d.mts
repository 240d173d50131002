import type { ProviderSigner } from "../signer";

export declare const signer: ProviderSigner;
/** The four ACCESS-* headers for an exact body text posted to `url` at `now` (Unix ms), with a fresh nonce. */
export declare function cabitalHeaders(
  body: string,
  secret: string,
  context: { url: string; now?: number; accessKey?: string },
): Record<string, string>;
