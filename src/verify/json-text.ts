/**
 * Reads the top level of a JSON object as the raw text of each member's value, without turning
 * numbers into doubles. Cregis signs integers by their JSON digits (a 17-digit id would lose
 * digits through `JSON.parse`), and CYBAVO's per-wallet secrets need `wallet_id` before the body
 * may be parsed. Hostile input never throws: anything malformed, or a duplicated key (which
 * parsers resolve differently), yields undefined.
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
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

/** Returns the top-level members of a JSON object text, or undefined if it is not one. */
export function topLevelMembers(text: string): ReadonlyMap<string, RawMember> | undefined {
  const scanner = new Scanner(text);
  scanner.skipWhitespace();
  if (!scanner.take("{")) return undefined;
  const members = new Map<string, RawMember>();
  scanner.skipWhitespace();
  if (!scanner.take("}")) {
    for (;;) {
      scanner.skipWhitespace();
      const keyText = scanner.match(STRING);
      if (keyText === undefined) return undefined;
      const key = Scanner.decode(keyText);
      if (members.has(key)) return undefined;
      scanner.skipWhitespace();
      if (!scanner.take(":")) return undefined;
      scanner.skipWhitespace();
      const start = scanner.pos;
      const kind = scanner.value(0);
      if (kind === undefined) return undefined;
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

/** Decodes a raw JSON string token (with its quotes) to its value. */
export function stringValue(member: RawMember): string | undefined {
  return member.kind === "string" ? Scanner.decode(member.raw) : undefined;
}

class Scanner {
  pos = 0;
  constructor(private readonly text: string) {}

  skipWhitespace(): void {
    // A loop, not a regex: the scanner skips whitespace several times per member, and a regex
    // call each time cost more than all the rest on a forged body of many small members.
    const text = this.text;
    let pos = this.pos;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      pos++;
    }
    this.pos = pos;
  }

  take(char: string): boolean {
    if (this.text[this.pos] !== char) return false;
    this.pos++;
    return true;
  }

  /** Like `match`, for a token whose text is not needed: moves past it without copying it. */
  private skip(pattern: RegExp): boolean {
    pattern.lastIndex = this.pos;
    if (!pattern.test(this.text)) return false;
    this.pos = pattern.lastIndex;
    return true;
  }

  private literal<L extends "true" | "false" | "null">(word: L): L | undefined {
    if (!this.text.startsWith(word, this.pos)) return undefined;
    this.pos += word.length;
    return word;
  }

  match(pattern: RegExp): string | undefined {
    const start = this.pos;
    return this.skip(pattern) ? this.text.slice(start, this.pos) : undefined;
  }

  /**
   * The value of a string token the scanner has matched. Without a backslash its text between
   * the quotes is the value (STRING admits no quote or control character there), and slicing
   * costs far less than JSON.parse on a body of thousands of keys.
   */
  static decode(token: string): string {
    return token.includes("\\") ? (JSON.parse(token) as string) : token.slice(1, -1);
  }

  /** Skips one JSON value and returns its kind, or undefined if it is not valid JSON. */
  value(depth: number): JsonKind | undefined {
    if (depth > MAX_DEPTH) return undefined;
    const c = this.text.charCodeAt(this.pos);
    if (c === 0x22) return this.skip(STRING) ? "string" : undefined;
    if (c === 0x7b) return this.container("}", depth, true) ? "object" : undefined;
    if (c === 0x5b) return this.container("]", depth, false) ? "array" : undefined;
    if (c === 0x74) return this.literal("true");
    if (c === 0x66) return this.literal("false");
    if (c === 0x6e) return this.literal("null");
    return this.skip(NUMBER) ? "number" : undefined;
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
        const keyText = this.match(STRING);
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

  /** Reads one value and returns its canonical text (see `canonicalText`). */
  canonical(depth: number): string | undefined {
    if (depth > MAX_DEPTH) return undefined;
    const c = this.text[this.pos];
    if (c === '"') {
      const token = this.match(STRING);
      return token === undefined ? undefined : JSON.stringify(JSON.parse(token) as string);
    }
    if (c !== "{" && c !== "[") {
      const start = this.pos;
      return this.value(depth) === undefined ? undefined : this.text.slice(start, this.pos);
    }
    const keyed = c === "{";
    const items: string[] = [];
    const entries: [string, string][] = [];
    this.pos++;
    this.skipWhitespace();
    if (!this.take(keyed ? "}" : "]")) {
      for (;;) {
        this.skipWhitespace();
        let key: string | undefined;
        if (keyed) {
          const keyText = this.match(STRING);
          if (keyText === undefined) return undefined;
          key = JSON.parse(keyText) as string;
          this.skipWhitespace();
          if (!this.take(":")) return undefined;
          this.skipWhitespace();
        }
        const inner = this.canonical(depth + 1);
        if (inner === undefined) return undefined;
        if (key === undefined) items.push(inner);
        else entries.push([key, inner]);
        this.skipWhitespace();
        if (this.take(",")) continue;
        if (this.take(keyed ? "}" : "]")) break;
        return undefined;
      }
    }
    if (!keyed) return `[${items.join(",")}]`;
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (let i = 1; i < entries.length; i++) if (entries[i - 1]?.[0] === entries[i]?.[0]) return undefined;
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`;
  }

  private container(close: string, depth: number, keyed: boolean): boolean {
    this.pos++;
    this.skipWhitespace();
    if (this.take(close)) return true;
    for (;;) {
      this.skipWhitespace();
      if (keyed) {
        if (!this.skip(STRING)) return false;
        this.skipWhitespace();
        if (!this.take(":")) return false;
        this.skipWhitespace();
      }
      if (this.value(depth + 1) === undefined) return false;
      this.skipWhitespace();
      if (this.take(",")) continue;
      return this.take(close);
    }
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
  const scanner = new Scanner(raw);
  scanner.skipWhitespace();
  const out = scanner.canonical(0);
  scanner.skipWhitespace();
  return out !== undefined && scanner.pos === raw.length ? out : undefined;
}
