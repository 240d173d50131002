import type { ProviderSigner } from "../signer";

export declare const signer: ProviderSigner;
/** The x-signature-sha256 of an exact body text. */
export declare function killbSignature(body: string | Uint8Array, secret: string): string;
