import type { Callback, ProviderSigner, Signed, SigningScheme } from "../../src/providers/signer";

export type Source = { provider: string; secrets?: string[] } & Record<string, unknown>;
export const signers: ReadonlyMap<string, ProviderSigner>;
export function fixtureNames(provider: string): string[];
export function fixture(provider: string, name: string): Callback;
export function optionsOf(source: Source): Record<string, unknown>;
export function schemeFor(source: Source): SigningScheme | undefined;
export function signFor(source: Source, callback: Callback, key: string, context: { url: string; now?: number }): Signed;
export function freshen<T extends Callback>(provider: string, callback: T, seed?: number): T;
