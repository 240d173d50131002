/**
 * Reads the top level of a JSON object as the raw text of each member's value, without turning
 * numbers into doubles. Cregis signs integers by their JSON digits (a 17-digit id would lose
 * digits through `JSON.parse`), and CYBAVO's per-wallet secrets need `wallet_id` before the body
 * may be parsed. Hostile input never throws: anything malformed, or a duplicated key (which
 * parsers resolve differently), yields undefined. Unverified input is never given to
 * `JSON.parse` as a whole: workerd's can misread an escaped object key (test/forged-cost.test.ts),
 * so only single string tokens are (see `Scanner.decode`).
 */

export type JsonKind = "string" | "number" | "object" | "array" | "true" | "false" | "null";

export interface RawMember {
  /** The value's exact JSON text, e.g. `1382528827416576`, `"1.10"` (with quotes), `{...}`. */
  readonly raw: string;
  readonly kind: JsonKind;
}

/**
 * How deep a JSON value may nest. The gateway quarantines a verified body that nests deeper
 * (src/ingress.ts), so every reader of a stored body, recursive or not, sees at most this.
 */
export const MAX_JSON_DEPTH = 64;
const MAX_DEPTH = MAX_JSON_DEPTH;

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
      const key = Scanner.decode(keyText);
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

/** The value of a hexadecimal digit's code unit (one `stringEnd` has checked). */
const hexDigit = (c: number) => (c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57);

/** The code unit each one-character JSON escape (`\"`, `\n`, ...) stands for, by the character after the backslash. */
const ESCAPED: Readonly<Record<string, number>> = { '"': 0x22, "\\": 0x5c, "/": 0x2f, b: 0x08, f: 0x0c, n: 0x0a, r: 0x0d, t: 0x09 };

/**
 * Whether the string token text[start, end) (quotes included, already read by `stringEnd`, so its
 * escapes are valid) decodes to `value`: compared unit by unit, stopping at the first difference.
 */
function tokenIs(text: string, start: number, end: number, value: string): boolean {
  let p = start + 1;
  const close = end - 1;
  for (let i = 0; i < value.length; i++) {
    if (p >= close) return false;
    let c = text.charCodeAt(p);
    if (c === 0x5c) {
      const e = text[p + 1] as string;
      if (e === "u") {
        c = (hexDigit(text.charCodeAt(p + 2)) << 12) | (hexDigit(text.charCodeAt(p + 3)) << 8);
        c |= (hexDigit(text.charCodeAt(p + 4)) << 4) | hexDigit(text.charCodeAt(p + 5));
        p += 6;
      } else {
        c = ESCAPED[e] as number;
        p += 2;
      }
    } else {
      p++;
    }
    if (c !== value.charCodeAt(i)) return false;
  }
  return p === close;
}

/** Decodes a raw JSON string token (with its quotes) to its value. */
export function stringValue(member: RawMember): string | undefined {
  return member.kind === "string" ? Scanner.decode(member.raw) : undefined;
}

/** What `Scanner.number` read. */
const NOT_A_NUMBER = 0;
const NUMBER = 1;
const PLAIN_INTEGER = 2;

// The reading loops below work on code units with plain functions, not regular expressions or
// a method call per token: a forged body of 256 KiB can hold 100,000 tokens, and per-token
// overhead was most of what reading it cost (docs/benchmarks.md, "CPU per forged request").
// charCodeAt past the end is NaN, which every comparison below treats as "no".

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);

/** The position of the first character at or after `p` that is not JSON whitespace. */
function skipWhitespaceAt(text: string, p: number): number {
  for (;;) {
    const c = text.charCodeAt(p);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return p;
    p++;
  }
}

/** The position after the run of digits at `p`: a loop for a few, a regex for a long run. */
function digitsEnd(text: string, p: number): number {
  for (const stop = p + 16; p < stop; p++) if (!isDigit(text.charCodeAt(p))) return p;
  DIGITS.lastIndex = p;
  DIGITS.test(text);
  return DIGITS.lastIndex;
}
const DIGITS = /\d*/y;

/** The rest of a string token after its opening quote (see `stringEnd`). */
const STRING_REST = /(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

/**
 * The position after the JSON string token at `p`, or -1 if there is none: a quote, then
 * characters other than a quote, a backslash or a control character, or the escapes
 * `\" \\ \/ \b \f \n \r \t \uXXXX`, then a quote.
 */
function stringEnd(text: string, p: number): number {
  if (text.charCodeAt(p) !== 0x22) return -1;
  const start = ++p;
  for (;;) {
    if (p - start >= 32) {
      // A long string: the regular expression engine walks it several times faster than this
      // loop, whose advantage is on the short keys and values most tokens are.
      STRING_REST.lastIndex = p;
      return STRING_REST.test(text) ? STRING_REST.lastIndex : -1;
    }
    const c = text.charCodeAt(p);
    if (c === 0x22) return p + 1;
    if (c === 0x5c) {
      const e = text.charCodeAt(p + 1);
      if (e === 0x75) {
        if (
          !(
            isHex(text.charCodeAt(p + 2)) &&
            isHex(text.charCodeAt(p + 3)) &&
            isHex(text.charCodeAt(p + 4)) &&
            isHex(text.charCodeAt(p + 5))
          )
        )
          return -1;
        p += 6;
      } else if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        p += 2;
      } else {
        return -1;
      }
    } else if (c >= 0x20) {
      p++;
    } else {
      return -1; // a control character, or the end of the text
    }
  }
}

class Scanner {
  pos = 0;
  /** A container stops reading (and sets `overLimit`) once it is past this position. */
  end = Number.POSITIVE_INFINITY;
  /** Set when reading stopped at MAX_DEPTH or at `end`, rather than at malformed text. */
  overLimit = false;
  constructor(private readonly text: string) {}

  skipWhitespace(): void {
    this.pos = skipWhitespaceAt(this.text, this.pos);
  }

  take(char: string): boolean {
    if (this.text.charCodeAt(this.pos) !== char.charCodeAt(0)) return false;
    this.pos++;
    return true;
  }

  /** Moves past a string token without copying it. */
  skipString(): boolean {
    const end = stringEnd(this.text, this.pos);
    if (end < 0) return false;
    this.pos = end;
    return true;
  }

  /** Moves past a string token and returns its text (quotes included). */
  matchString(): string | undefined {
    const start = this.pos;
    return this.skipString() ? this.text.slice(start, this.pos) : undefined;
  }

  /**
   * Moves past a JSON number (`-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`, as long as it goes) and
   * says whether it is PLAIN: an integer of at most 15 digits other than `-0`, which JavaScript
   * prints back exactly as written. A loop, not a regex: a forged body can hold 100,000 numbers.
   */
  number(): typeof NOT_A_NUMBER | typeof NUMBER | typeof PLAIN_INTEGER {
    const text = this.text;
    const start = this.pos;
    let p = start;
    const negative = text.charCodeAt(p) === 0x2d;
    if (negative) p++;
    const first = text.charCodeAt(p);
    if (first === 0x30) p++;
    else if (first > 0x30 && first <= 0x39) p = digitsEnd(text, p + 1);
    else return NOT_A_NUMBER;
    let plain = p - start - (negative ? 1 : 0) <= 15 && !(negative && first === 0x30);
    if (text.charCodeAt(p) === 0x2e && isDigit(text.charCodeAt(p + 1))) {
      p = digitsEnd(text, p + 2);
      plain = false;
    }
    const e = text.charCodeAt(p);
    if (e === 0x65 || e === 0x45) {
      let q = p + 1;
      const sign = text.charCodeAt(q);
      if (sign === 0x2b || sign === 0x2d) q++;
      if (isDigit(text.charCodeAt(q))) {
        p = digitsEnd(text, q + 1);
        plain = false;
      }
    }
    this.pos = p;
    return plain ? PLAIN_INTEGER : NUMBER;
  }

  private literal<L extends "true" | "false" | "null">(word: L): L | undefined {
    if (!this.text.startsWith(word, this.pos)) return undefined;
    this.pos += word.length;
    return word;
  }

  /**
   * The value of a string token the scanner has matched. Without a backslash its text between
   * the quotes is the value (a token admits no quote or control character there), and slicing
   * costs far less than JSON.parse on a body of thousands of keys.
   */
  static decode(token: string): string {
    return token.includes("\\") ? (JSON.parse(token) as string) : token.slice(1, -1);
  }

  /** Skips one JSON value and returns its kind, or undefined if it is not valid JSON. */
  value(depth: number): JsonKind | undefined {
    if (depth > MAX_DEPTH) {
      this.overLimit = true;
      return undefined;
    }
    const c = this.text.charCodeAt(this.pos);
    if (c === 0x7b) return this.containers(depth) ? "object" : undefined;
    if (c === 0x5b) return this.containers(depth) ? "array" : undefined;
    return this.scalar();
  }

  /** Skips a string, number, `true`, `false` or `null` and returns its kind. */
  private scalar(): JsonKind | undefined {
    const c = this.text.charCodeAt(this.pos);
    if (c === 0x22) return this.skipString() ? "string" : undefined;
    if (c === 0x74) return this.literal("true");
    if (c === 0x66) return this.literal("false");
    if (c === 0x6e) return this.literal("null");
    return this.number() === NOT_A_NUMBER ? undefined : "number";
  }

  /**
   * Skips the object or array at `pos` (itself at `depth`) and everything in it; items nest at
   * most MAX_JSON_DEPTH deep, and past `end` it stops (either sets `overLimit`). A call per
   * container, not one loop with a stack of open containers: that loop, though faster when
   * optimized, was seen to fall out of workerd's optimizing compiler in some runs and then
   * cost five to seven times as much (measured with scripts/bench/forged.mjs).
   */
  private containers(depth: number): boolean {
    const text = this.text;
    const c = text.charCodeAt(this.pos);
    const close = c + 2; // `{` + 2 is `}`, `[` + 2 is `]`
    let p = skipWhitespaceAt(text, this.pos + 1);
    if (text.charCodeAt(p) === close) {
      this.pos = p + 1;
      return true;
    }
    for (;;) {
      if (c === 0x7b) {
        p = this.memberValueAt(p);
        if (p < 0) return false;
      }
      this.pos = p;
      if (this.value(depth + 1) === undefined) return false;
      p = this.pos;
      if (p > this.end) {
        this.overLimit = true;
        return false;
      }
      p = skipWhitespaceAt(text, p);
      const next = text.charCodeAt(p);
      if (next === 0x2c) {
        p = skipWhitespaceAt(text, p + 1);
        continue;
      }
      if (next !== close) return false;
      this.pos = p + 1;
      return true;
    }
  }

  /** From a member's key at `p`, the position of its value (after `"key" :`), or -1. */
  private memberValueAt(p: number): number {
    const text = this.text;
    const end = stringEnd(text, p);
    if (end < 0) return -1;
    p = skipWhitespaceAt(text, end);
    return text.charCodeAt(p) === 0x3a ? skipWhitespaceAt(text, p + 1) : -1;
  }

  /** Like `value`, but reads the whole value strictly: depth limit and duplicate keys. */
  check(depth: number): JsonProblem | undefined {
    if (depth > MAX_DEPTH) return `nested deeper than ${MAX_DEPTH} levels`;
    const c = this.text[this.pos];
    if (c !== "{" && c !== "[") return this.value(depth) === undefined ? "not JSON" : undefined;
    const keyed = c === "{";
    const keys = keyed ? new Set<string>() : undefined;
    this.pos++;
    this.skipWhitespace();
    if (this.take(keyed ? "}" : "]")) return undefined;
    for (;;) {
      this.skipWhitespace();
      if (keys !== undefined) {
        const keyText = this.matchString();
        if (keyText === undefined) return "not JSON";
        const key = Scanner.decode(keyText);
        if (keys.has(key)) return "duplicate key";
        keys.add(key);
        this.skipWhitespace();
        if (!this.take(":")) return "not JSON";
        this.skipWhitespace();
      }
      const inner = this.check(depth + 1);
      if (inner !== undefined) return inner;
      this.skipWhitespace();
      if (this.take(",")) continue;
      return this.take(keyed ? "}" : "]") ? undefined : "not JSON";
    }
  }

  /**
   * Reads one value and returns its canonical text: object keys sorted by UTF-16 code units, no
   * whitespace, strings re-encoded from their decoded value. Numbers keep their exact digits and
   * a repeated key is refused (`canonicalText`), or, with `javascript`, are what JSON.parse then
   * JSON.stringify make of them and a repeated key's last value is kept (`canonicalJsonText`).
   */
  canonical(depth: number, javascript: boolean): string | undefined {
    if (depth > MAX_DEPTH) return undefined;
    const text = this.text;
    const c = text.charCodeAt(this.pos);
    if (c !== 0x7b && c !== 0x5b) return this.canonicalScalar(depth, javascript);
    const keyed = c === 0x7b;
    const close = c + 2;
    let out = keyed ? "{" : "[";
    let items = 0;
    const entries: [string, string][] = [];
    let sorted = true; // are the keys, as read so far, in strictly ascending order?
    let p = skipWhitespaceAt(text, this.pos + 1);
    if (text.charCodeAt(p) === close) {
      this.pos = p + 1;
      return keyed ? "{}" : "[]";
    }
    for (;;) {
      let key: string | undefined;
      if (keyed) {
        const keyEnd = stringEnd(text, p);
        if (keyEnd < 0) return undefined;
        key = Scanner.decode(text.slice(p, keyEnd));
        p = skipWhitespaceAt(text, keyEnd);
        if (text.charCodeAt(p) !== 0x3a) return undefined;
        p = skipWhitespaceAt(text, p + 1);
      }
      this.pos = p;
      const inner = this.canonical(depth + 1, javascript);
      if (inner === undefined) return undefined;
      p = skipWhitespaceAt(text, this.pos);
      if (key !== undefined) {
        if (sorted && entries.length > 0 && !((entries[entries.length - 1] as [string, string])[0] < key)) sorted = false;
        entries.push([key, inner]);
      } else {
        if (items++ > 0) out += ",";
        out += inner;
      }
      const next = text.charCodeAt(p);
      if (next === 0x2c) {
        p = skipWhitespaceAt(text, p + 1);
        continue;
      }
      if (next !== close) return undefined;
      this.pos = p + 1;
      break;
    }
    if (!keyed) return `${out}]`;
    // A stable sort: a repeated key's entries stay in text order, the last one last.
    if (!sorted) entries.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as [string, string];
      if (i + 1 < entries.length && entry[0] === (entries[i + 1] as [string, string])[0]) {
        if (!javascript) return undefined;
        continue; // JSON.parse keeps the last value
      }
      if (out.length > 1) out += ",";
      out += JSON.stringify(entry[0]);
      out += ":";
      out += entry[1];
    }
    return `${out}}`;
  }

  /** `canonical` of a string, number, `true`, `false` or `null`. */
  private canonicalScalar(depth: number, javascript: boolean): string | undefined {
    const text = this.text;
    const start = this.pos;
    const c = text.charCodeAt(start);
    if (c === 0x22) {
      const end = stringEnd(text, start);
      if (end < 0) return undefined;
      this.pos = end;
      return JSON.stringify(Scanner.decode(text.slice(start, end)));
    }
    const number = this.number();
    if (number === NOT_A_NUMBER && this.value(depth) === undefined) return undefined;
    const raw = text.slice(start, this.pos);
    if (!javascript || number !== NUMBER) return raw;
    // Number() reads a JSON number's text exactly as JSON.parse does; this writes what
    // JSON.stringify of the result would (`1.0` → `1`, `1e999` → `null`, `-0` → `0`).
    const n = Number(raw);
    return n - n === 0 ? String(n) : "null";
  }
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

/** RFC 8785 canonical JSON: object keys sorted by UTF-16 code units, no whitespace. */
export function canonicalJson(value: unknown): string {
  // Written for cost as well as output: a forged Cregis body can nest ~250 KB here before its
  // signature is checked (docs/benchmarks.md, "CPU per forged request").
  if (Array.isArray(value)) {
    // An array of JSON scalars is already canonical as JSON.stringify writes it, natively.
    let scalars = true;
    for (let i = 0; i < value.length && scalars; i++) {
      const item: unknown = value[i];
      scalars = item === null || typeof item === "string" || typeof item === "number" || typeof item === "boolean";
    }
    if (scalars) return JSON.stringify(value);
    let out = "[";
    for (let i = 0; i < value.length; i++) out += `${i > 0 ? "," : ""}${canonicalJson(value[i])}`;
    return `${out}]`;
  }
  if (value !== null && typeof value === "object") {
    // The default sort orders strings by UTF-16 code units, as RFC 8785 asks; keys are distinct.
    const keys = Object.keys(value).sort();
    let out = "{";
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      out += `${i > 0 ? "," : ""}${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`;
    }
    return `${out}}`;
  }
  return JSON.stringify(value);
}

/** Why a text is not JSON the gateway can read without ambiguity; undefined when it is. */
export type JsonProblem = "not JSON" | "duplicate key" | `nested deeper than ${number} levels`;

/**
 * Checks a whole JSON text: one value, nesting at most MAX_JSON_DEPTH, and no object with the
 * same key twice at any depth (parsers disagree on which duplicate wins, so such a body has no
 * one meaning). Linear in the text; never throws.
 */
export function jsonProblem(text: string): JsonProblem | undefined {
  const scanner = new Scanner(text);
  scanner.skipWhitespace();
  const problem = scanner.check(0);
  if (problem !== undefined) return problem;
  scanner.skipWhitespace();
  return scanner.pos === text.length ? undefined : "not JSON";
}

/**
 * Canonical text of a raw JSON value: object keys sorted (UTF-16 code units, as RFC 8785), no
 * whitespace, strings re-encoded from their decoded value, numbers kept as their exact digits
 * (never re-printed from a double, so ids above 2^53 stay distinct). Undefined if the text is
 * not a JSON value within MAX_JSON_DEPTH or repeats a key.
 */
export function canonicalText(raw: string): string | undefined {
  return readCanonical(raw, false);
}

/**
 * `canonicalJson(JSON.parse(raw))`, written from the raw text without parsing it: numbers as
 * JavaScript prints their double, a repeated key's last value kept, as JSON.parse does. For
 * unverified input (Cregis' canonical-json signing text): workerd's JSON.parse can misread an
 * escaped key. Undefined if the text is not a JSON value within MAX_JSON_DEPTH.
 */
export function canonicalJsonText(raw: string): string | undefined {
  return readCanonical(raw, true);
}

function readCanonical(raw: string, javascript: boolean): string | undefined {
  const scanner = new Scanner(raw);
  scanner.skipWhitespace();
  const out = scanner.canonical(0, javascript);
  scanner.skipWhitespace();
  return out !== undefined && scanner.pos === raw.length ? out : undefined;
}
