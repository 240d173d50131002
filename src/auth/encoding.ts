/**
 * base64url without padding (RFC 4648 §5), as the session cookie's two parts are written: the
 * cookie stays free of `=`, and decoding is canonical, so a changed character never decodes to
 * the same bytes (the unused low bits of the last character are checked, as in fromBase64).
 */
import { fromBase64UrlPadded, toBase64UrlPadded } from "../verify/crypto";

/** Encodes bytes as base64url without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  return toBase64UrlPadded(bytes).replace(/=+$/, "");
}

/** Decodes canonical unpadded base64url; undefined on anything else. */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  return fromBase64UrlPadded(text + "=".repeat((4 - (text.length % 4)) % 4));
}
