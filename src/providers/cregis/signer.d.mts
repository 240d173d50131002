import type { ProviderSigner } from "../signer";

export declare const signer: ProviderSigner;
/** The body Cregis sends for these fields, `sign` last. */
export declare function signCregis(callback: Record<string, unknown>, apiKey: string): { body: string; headers: Record<string, string> };
