export interface SignedCallback {
  body: string;
  headers: Record<string, string>;
}
export interface SignContext {
  url: string;
  now?: number;
}
export function signCybavo(callback: object, secret: string): SignedCallback;
export function signCregis(callback: Record<string, unknown>, apiKey: string): SignedCallback;
export function signKillb(callback: object, secret: string): SignedCallback;
export function signCabital(callback: object, secret: string, context: SignContext & { accessKey?: string }): SignedCallback;
export function signCoinsHmac(callback: object, secret: string, context: SignContext & { merchantKey?: string }): SignedCallback;
export function freshen<T extends Record<string, unknown>>(provider: string, callback: T, seed?: number): T;
export function signerFor(source: {
  provider: string;
  scheme?: string;
}): ((callback: Record<string, unknown>, secret: string, context: SignContext) => SignedCallback) | undefined;
