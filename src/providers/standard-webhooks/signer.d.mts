import type { ProviderSigner } from "../signer";

export declare const signer: ProviderSigner;
/** A Standard Webhooks secret from a tool's secret: `whsec_` ones as they are, other text as `whsec_` + base64 of its UTF-8. */
export declare function standardWebhooksSecret(text: string): string;
/** The message id a sender gives a body (the same for the same body). */
export declare function messageId(body: string): string;
/** The three headers for an exact body, signed by the official library with each secret (newest first), at `now` (Unix ms). */
export declare function standardWebhooksHeaders(
  body: string,
  secrets: readonly string[],
  options?: { id?: string; now?: number },
): Record<string, string>;
