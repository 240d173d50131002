export interface SignedCallback {
  body: string;
  headers: Record<string, string>;
}
export function signCybavo(callback: object, secret: string): SignedCallback;
export function signCregis(callback: Record<string, unknown>, apiKey: string): SignedCallback;
export function freshen<T extends Record<string, unknown>>(provider: string, callback: T, seed?: number): T;
export const signers: Record<string, (callback: Record<string, unknown>, secret: string) => SignedCallback>;
