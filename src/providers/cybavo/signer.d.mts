import type { ProviderSigner } from "../signer";

export declare const signer: ProviderSigner;
/** The X-CHECKSUM of an exact body text. */
export declare function cybavoChecksum(body: string, secret: string): string;
/** A callback signed as CYBAVO sends it: its JSON body and the X-CHECKSUM header. */
export declare function signCybavo(callback: object, secret: string): { body: string; headers: Record<string, string> };
