/**
 * The strict check a verified body passes before the gateway reads it (src/ingress.ts): one JSON
 * value, nesting at most MAX_JSON_DEPTH, no object with the same key twice at any depth.
 */
import { MAX_JSON_DEPTH, Scanner } from "./scanner";
import { decodeString } from "./tokens";

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
  const problem = check(scanner, 0);
  if (problem !== undefined) return problem;
  scanner.skipWhitespace();
  return scanner.pos === text.length ? undefined : "not JSON";
}

/**
 * Like `Scanner.value`, but reads the value at the scanner's position strictly: depth limit and
 * duplicate keys. One call per container, as the scanner's own reader.
 */
function check(scanner: Scanner, depth: number): JsonProblem | undefined {
  if (depth > MAX_JSON_DEPTH) return `nested deeper than ${MAX_JSON_DEPTH} levels`;
  const c = scanner.text[scanner.pos];
  if (c !== "{" && c !== "[") return scanner.value(depth) === undefined ? "not JSON" : undefined;
  const keyed = c === "{";
  const keys = keyed ? new Set<string>() : undefined;
  scanner.pos++;
  scanner.skipWhitespace();
  if (scanner.take(keyed ? "}" : "]")) return undefined;
  for (;;) {
    scanner.skipWhitespace();
    if (keys !== undefined) {
      const keyText = scanner.matchString();
      if (keyText === undefined) return "not JSON";
      const key = decodeString(keyText);
      if (keys.has(key)) return "duplicate key";
      keys.add(key);
      scanner.skipWhitespace();
      if (!scanner.take(":")) return "not JSON";
      scanner.skipWhitespace();
    }
    const inner = check(scanner, depth + 1);
    if (inner !== undefined) return inner;
    scanner.skipWhitespace();
    if (scanner.take(",")) continue;
    return scanner.take(keyed ? "}" : "]") ? undefined : "not JSON";
  }
}
