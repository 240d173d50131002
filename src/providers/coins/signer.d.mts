import type { ProviderSigner } from "../signer";

export declare const signer: ProviderSigner;
