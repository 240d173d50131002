/**
 * The scanner every JSON reader here shares: a position in one text, and the moves that skip a
 * token or a whole value (checking it is valid JSON) without building anything. The readers
 * (./members.ts, ./check.ts, ./canonical.ts) drive it; hostile input never makes it throw.
 */
import { digitsEnd, isDigit, skipWhitespaceAt, stringEnd } from "./tokens";

export type JsonKind = "string" | "number" | "object" | "array" | "true" | "false" | "null";

/**
 * How deep a JSON value may nest. The gateway quarantines a verified body that nests deeper
 * (src/ingress.ts), so every reader of a stored body, recursive or not, sees at most this.
 */
export const MAX_JSON_DEPTH = 64;
const MAX_DEPTH = MAX_JSON_DEPTH;

/** What `Scanner.number` read. */
export const NOT_A_NUMBER = 0;
export const NUMBER = 1;
export const PLAIN_INTEGER = 2;

export class Scanner {
  pos = 0;
  /** A container stops reading (and sets `overLimit`) once it is past this position. */
  end = Number.POSITIVE_INFINITY;
  /** Set when reading stopped at MAX_DEPTH or at `end`, rather than at malformed text. */
  overLimit = false;
  constructor(readonly text: string) {}

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
}
