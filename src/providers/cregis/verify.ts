/**
 * Cregis: field `sign` in the JSON body = lowercase hex MD5(apiKey + k1v1k2v2...), keys byte-
 * sorted, `sign`, null and "" left out (developer.cregis.com "Signature"; official SDKs). Values
 * are read from the raw JSON text: strings by their decoded value, numbers by their exact
 * digits, never re-printed from a double. Docs: docs/providers/cregis.md.
 */
import { digest, fromHex, timingSafeEqual, utf8 } from "../../verify/crypto";
import { canonicalJsonText, type RawMember, stringValue, topLevelMembersWithin } from "../../verify/json-text";
import { anySecret, type SignedRequest, type Verifier, type VerifyResult } from "../../verify/types";

/**
 * How many top-level members (all of them: `sign`, null and "" ones too) a body may have before
 * its signature is checked. Genuine callbacks have 10 to 20. A forged body of 30,000 members
 * cost tens of milliseconds of CPU to read and sort; one over this limit is refused as
 * `malformed_signature` (it cannot be verified cheaply), after reading at most this many.
 */
export const CREGIS_MAX_MEMBERS = 256;

/**
 * How many characters (UTF-16 code units, the same as bytes for ASCII) of raw JSON text the
 * object and array values of a body may have in all. Genuine callbacks have one, the payment
 * engine's `data`, of about 1 KB. Over it: `malformed_signature`, under either `nestedValues`
 * option, after reading at most this much of them. Writing canonical JSON of the costliest
 * tokens (objects to sort, escaped strings, re-printed numbers) costs about 1 ms of CPU per
 * 8 KiB in workerd when called once per request, hence this size, a quarter of the 64 KiB
 * first chosen (docs/benchmarks.md, section 6).
 * A nested value may also nest at most MAX_JSON_DEPTH + 1 levels (src/verify/json-text.ts):
 * deeper is refused the same way.
 */
export const CREGIS_MAX_NESTED_CHARS = 16 * 1024;

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
      // What canonicalJson(JSON.parse(raw)) writes, without JSON.parse: see canonicalJsonText.
      return options.nestedValues === "canonical-json" ? canonicalJsonText(member.raw) : undefined;
  }
}

/** The code point at `i` as UTF-8 encodes it: a surrogate pair's, U+FFFD for an unpaired surrogate. */
function encodedCodePointAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c < 0xd800 || c > 0xdfff) return c;
  if (c <= 0xdbff) {
    const d = s.charCodeAt(i + 1); // NaN past the end: unpaired
    if (d >= 0xdc00 && d <= 0xdfff) return (c - 0xd800) * 0x400 + (d - 0xdc00) + 0x10000;
  }
  return 0xfffd;
}

/**
 * Orders two strings as their UTF-8 bytes (TextEncoder's) order, without encoding them: UTF-8
 * byte order is code point order, so both are walked by code point, an unpaired surrogate
 * counting as the U+FFFD it is encoded as. Encoding on every comparison made a forged body of
 * many keys cost tens of milliseconds (docs/benchmarks.md). Only the sign is meaningful.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) {
      // Equal units are equal code points, unless a high surrogate is followed by different
      // units (paired in one string, not in the other): a shared prefix is walked quickly.
      if (x < 0xd800 || x > 0xdbff || a.charCodeAt(i + 1) === b.charCodeAt(i + 1)) continue;
    } else if (x < 0xd800 || y < 0xd800) {
      // A unit below the surrogates is a whole code point, and below whatever the other is.
      return x - y;
    }
    const p = encodedCodePointAt(a, i);
    const q = encodedCodePointAt(b, i);
    if (p !== q) return p - q;
    if (p > 0xffff) i++; // a surrogate pair in both
  }
  // Equal code points take equal code units, so the shorter string is a prefix of the longer.
  return a.length - b.length;
}

/**
 * The signed members: [key, value text] for every top-level member the signature covers, in
 * signing order (keys in UTF-8 byte order; `sign`, null and "" left out). Undefined when a value
 * cannot be signed under the source's options. This is all the signature vouches for, so the
 * gateway derives a Cregis event's identity from it alone.
 */
export function cregisSignedMembers(members: ReadonlyMap<string, RawMember>, options: CregisOptions): [string, string][] | undefined {
  const parts: [string, string][] = [];
  let surrogates = false;
  for (const [key, member] of members) {
    if (key === "sign") continue;
    const value = signedValue(member, options);
    if (value === undefined) return undefined;
    if (value !== null) parts.push([key, value]);
    surrogates ||= SURROGATE.test(key);
  }
  // Without surrogates every code unit is a code point, so the native comparison (UTF-16 code
  // units) is UTF-8 byte order, and much faster on long keys than walking them in JavaScript.
  return parts.sort(surrogates ? ([a], [b]) => compareUtf8(a, b) : ([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

const SURROGATE = /[\ud800-\udfff]/;

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
    // Not UTF-8: no text to sign, so no signature can be read. A refusal of the input, not an
    // error: the reason reaches the caller's log line (the gateway's `ingress`, at info).
    return { ok: false, reason: "malformed_signature" };
  }
  // Bounded before anything costly (decoding every key, sorting, canonical JSON): see the limits.
  const members = topLevelMembersWithin(text, { maxMembers: CREGIS_MAX_MEMBERS, maxNestedChars: CREGIS_MAX_NESTED_CHARS });
  if (members === "over_limit") return { ok: false, reason: "malformed_signature" };
  const signMember = members?.get("sign");
  if (members === undefined || signMember === undefined) return { ok: false, reason: "missing_signature" };
  const sign = stringValue(signMember);
  // Lowercase hex only: accepting both cases would let a changed signature still verify.
  const expected = sign !== undefined && /^[0-9a-f]{32}$/.test(sign) ? fromHex(sign) : undefined;
  const signingText = cregisSigningText(members, options);
  if (expected === undefined || signingText === undefined) return { ok: false, reason: "malformed_signature" };
  return anySecret(apiKeys, async (apiKey) => timingSafeEqual(await digest("MD5", utf8(apiKey + signingText)), expected));
}

/** The registry's entry (src/providers/registry.ts). */
export const verifier: Verifier<"cregis", CregisOptions> = { name: "cregis", verify: verifyCregis };
