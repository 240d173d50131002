/**
 * Cregis: field `sign` in the JSON body = lowercase hex MD5(apiKey + k1v1k2v2...), keys byte-
 * sorted, `sign`, null and "" left out (developer.cregis.com "Signature"; official SDKs). Values
 * are read from the raw JSON text: strings by their decoded value, numbers by their exact
 * digits, never re-printed from a double. Docs: docs/providers/cregis.md.
 */
import { digest, fromHex, timingSafeEqual, utf8 } from "./crypto";
import { canonicalJson, type RawMember, stringValue, topLevelMembers } from "./json-text";
import { anySecret, type SignedRequest, type VerifyResult } from "./types";

export interface CregisOptions {
  /**
   * How a nested object or array value (the payment engine's `data`) enters the signed text.
   * Cregis does not document it. "reject" (default): such a callback cannot be verified.
   * "canonical-json": RFC 8785 canonical JSON (sorted keys, no whitespace), as Cregis' newer SDK
   * does. A `data` sent as a JSON *string* is always signed verbatim and needs no option.
   */
  readonly nestedValues?: "reject" | "canonical-json" | undefined;
}

/** The text a member contributes to the signed string; null to leave it out; undefined if unsignable. */
function signedValue(member: RawMember, options: CregisOptions): string | null | undefined {
  switch (member.kind) {
    case "null":
      return null;
    case "string":
      return stringValue(member) || null;
    case "number":
    case "true":
    case "false":
      return member.raw;
    default:
      return options.nestedValues === "canonical-json" ? canonicalJson(JSON.parse(member.raw)) : undefined;
  }
}

function compareUtf8(a: string, b: string): number {
  const x = utf8(a);
  const y = utf8(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  }
  return x.length - y.length;
}

/**
 * The signed members: [key, value text] for every top-level member the signature covers, in
 * signing order (keys in UTF-8 byte order; `sign`, null and "" left out). Undefined when a value
 * cannot be signed under the source's options. This is all the signature vouches for, so the
 * gateway derives a Cregis event's identity from it alone.
 */
export function cregisSignedMembers(members: ReadonlyMap<string, RawMember>, options: CregisOptions): [string, string][] | undefined {
  const parts: [string, string][] = [];
  for (const [key, member] of members) {
    if (key === "sign") continue;
    const value = signedValue(member, options);
    if (value === undefined) return undefined;
    if (value !== null) parts.push([key, value]);
  }
  return parts.sort(([a], [b]) => compareUtf8(a, b));
}

/**
 * Builds `k1v1k2v2...` (without the API key) from the body's top-level members, or undefined
 * when a value cannot be signed under the source's options.
 */
export function cregisSigningText(members: ReadonlyMap<string, RawMember>, options: CregisOptions): string | undefined {
  return cregisSignedMembers(members, options)
    ?.map(([k, v]) => k + v)
    .join("");
}

export async function verifyCregis(request: SignedRequest, apiKeys: readonly string[], options: CregisOptions = {}): Promise<VerifyResult> {
  const body = request.body;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body);
  } catch {
    return { ok: false, reason: "malformed_signature" };
  }
  const members = topLevelMembers(text);
  const signMember = members?.get("sign");
  if (members === undefined || signMember === undefined) return { ok: false, reason: "missing_signature" };
  const sign = stringValue(signMember);
  // Lowercase hex only: accepting both cases would let a changed signature still verify.
  const expected = sign !== undefined && /^[0-9a-f]{32}$/.test(sign) ? fromHex(sign) : undefined;
  const signingText = cregisSigningText(members, options);
  if (expected === undefined || signingText === undefined) return { ok: false, reason: "malformed_signature" };
  return anySecret(apiKeys, async (apiKey) => timingSafeEqual(await digest("MD5", utf8(apiKey + signingText)), expected));
}
