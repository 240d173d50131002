/**
 * The top level of a JSON object as the raw text of each member's value, without turning numbers
 * into doubles: Cregis signs integers by their JSON digits (a 17-digit id would lose digits
 * through `JSON.parse`), and CYBAVO's per-wallet secrets need `wallet_id` before the body may be
 * parsed. Anything malformed, or a duplicated key (which parsers resolve differently), yields
 * undefined.
 */
import { type JsonKind, Scanner } from "./scanner";
import { decodeString, tokenIs } from "./tokens";

export interface RawMember {
  /** The value's exact JSON text, e.g. `1382528827416576`, `"1.10"` (with quotes), `{...}`. */
  readonly raw: string;
  readonly kind: JsonKind;
}

/** Returns the top-level members of a JSON object text, or undefined if it is not one. */
export function topLevelMembers(text: string): ReadonlyMap<string, RawMember> | undefined {
  const members = readMembers(text, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY);
  return members === "over_limit" ? undefined : members;
}

/** Bounds on how much of a JSON object `topLevelMembersWithin` reads. */
export interface MemberLimits {
  /** Top-level members, all counted (null ones too). */
  readonly maxMembers: number;
  /** Characters (UTF-16 code units) of raw text of all object and array values together. */
  readonly maxNestedChars: number;
}

/**
 * Like `topLevelMembers`, but gives up as soon as the object is over `limits` or nests deeper than
 * MAX_JSON_DEPTH, and says so ("over_limit"), without reading the rest: a hostile body of
 * 30,000 members or a quarter megabyte of nested arrays costs no more than the limits allow.
 */
export function topLevelMembersWithin(text: string, limits: MemberLimits): ReadonlyMap<string, RawMember> | "over_limit" | undefined {
  return readMembers(text, limits.maxMembers, limits.maxNestedChars);
}

function readMembers(text: string, maxMembers: number, maxNestedChars: number): Map<string, RawMember> | "over_limit" | undefined {
  const scanner = new Scanner(text);
  scanner.skipWhitespace();
  if (!scanner.take("{")) return undefined;
  const members = new Map<string, RawMember>();
  let nestedChars = 0;
  scanner.skipWhitespace();
  if (!scanner.take("}")) {
    for (;;) {
      if (members.size === maxMembers) return "over_limit";
      scanner.skipWhitespace();
      const keyText = scanner.matchString();
      if (keyText === undefined) return undefined;
      const key = decodeString(keyText);
      if (members.has(key)) return undefined;
      scanner.skipWhitespace();
      if (!scanner.take(":")) return undefined;
      scanner.skipWhitespace();
      const start = scanner.pos;
      // A container stops reading once it runs past what is left of the nested budget.
      scanner.end = start + (maxNestedChars - nestedChars);
      const kind = scanner.value(0);
      scanner.end = Number.POSITIVE_INFINITY;
      if (scanner.overLimit) return "over_limit";
      if (kind === undefined) return undefined;
      if (kind === "object" || kind === "array") {
        nestedChars += scanner.pos - start;
        if (nestedChars > maxNestedChars) return "over_limit";
      }
      members.set(key, { raw: text.slice(start, scanner.pos), kind });
      scanner.skipWhitespace();
      if (scanner.take(",")) continue;
      if (scanner.take("}")) break;
      return undefined;
    }
  }
  scanner.skipWhitespace();
  return scanner.pos === text.length ? members : undefined;
}

/**
 * The value of the top-level member `key` of a JSON object text, found in one pass that keeps no
 * other member (no map of thousands of keys for a forged body): each key is compared in place
 * with `key`, escapes decoded as it goes. Undefined when the text is not a JSON object the
 * scanner reads (within MAX_JSON_DEPTH), or `key` is missing or appears more than once however
 * it is spelled. Another key appearing twice is not refused here, unlike `topLevelMembers`:
 * callers read nothing else before the body is verified, and `jsonProblem` refuses it after.
 */
export function topLevelMember(text: string, key: string): RawMember | undefined {
  const scanner = new Scanner(text);
  scanner.skipWhitespace();
  if (!scanner.take("{")) return undefined;
  let found: RawMember | undefined;
  scanner.skipWhitespace();
  if (!scanner.take("}")) {
    for (;;) {
      scanner.skipWhitespace();
      const keyStart = scanner.pos;
      if (!scanner.skipString()) return undefined;
      const isKey = tokenIs(text, keyStart, scanner.pos, key);
      if (isKey && found !== undefined) return undefined;
      scanner.skipWhitespace();
      if (!scanner.take(":")) return undefined;
      scanner.skipWhitespace();
      const start = scanner.pos;
      const kind = scanner.value(0);
      if (kind === undefined) return undefined;
      if (isKey) found = { raw: text.slice(start, scanner.pos), kind };
      scanner.skipWhitespace();
      if (scanner.take(",")) continue;
      if (scanner.take("}")) break;
      return undefined;
    }
  }
  scanner.skipWhitespace();
  return scanner.pos === text.length ? found : undefined;
}

/** Decodes a raw JSON string token (with its quotes) to its value. */
export function stringValue(member: RawMember): string | undefined {
  return member.kind === "string" ? decodeString(member.raw) : undefined;
}

/**
 * The text of a scalar member as a provider means it: a string's decoded value, a number's exact
 * JSON digits. Undefined for anything else (null, objects, arrays, booleans) or a missing member.
 */
export function scalarText(member: RawMember | undefined): string | undefined {
  if (member === undefined) return undefined;
  if (member.kind === "number") return member.raw;
  return stringValue(member);
}

/** The members of the object at top-level `key` (e.g. a `data` envelope), read as raw text. */
export function nestedMembers(text: string, key: string): ReadonlyMap<string, RawMember> | undefined {
  const member = topLevelMembers(text)?.get(key);
  return member?.kind === "object" ? topLevelMembers(member.raw) : undefined;
}
