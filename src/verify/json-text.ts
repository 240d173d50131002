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

const MAX_DEPTH = 64;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const WHITESPACE = /[ \t\n\r]*/y;

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
      const key = JSON.parse(keyText) as string;
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
  return member.kind === "string" ? (JSON.parse(member.raw) as string) : undefined;
}

class Scanner {
  pos = 0;
  constructor(private readonly text: string) {}

  skipWhitespace(): void {
    this.match(WHITESPACE);
  }

  take(char: string): boolean {
    if (this.text[this.pos] !== char) return false;
    this.pos++;
    return true;
  }

  match(pattern: RegExp): string | undefined {
    pattern.lastIndex = this.pos;
    const found = pattern.exec(this.text);
    if (found === null) return undefined;
    this.pos = pattern.lastIndex;
    return found[0];
  }

  /** Skips one JSON value and returns its kind, or undefined if it is not valid JSON. */
  value(depth: number): JsonKind | undefined {
    if (depth > MAX_DEPTH) return undefined;
    const c = this.text[this.pos];
    if (c === '"') return this.match(STRING) === undefined ? undefined : "string";
    if (c === "{") return this.container("}", depth, true) ? "object" : undefined;
    if (c === "[") return this.container("]", depth, false) ? "array" : undefined;
    for (const literal of ["true", "false", "null"] as const) {
      if (this.text.startsWith(literal, this.pos)) {
        this.pos += literal.length;
        return literal;
      }
    }
    return this.match(NUMBER) === undefined ? undefined : "number";
  }

  private container(close: string, depth: number, keyed: boolean): boolean {
    this.pos++;
    this.skipWhitespace();
    if (this.take(close)) return true;
    for (;;) {
      this.skipWhitespace();
      if (keyed) {
        if (this.match(STRING) === undefined) return false;
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
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
