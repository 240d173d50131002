/**
 * fast-check arbitraries for JSON text shared by the scanner and forged-input tests: a string
 * value together with one of the many ways JSON can spell it.
 */
import fc from "fast-check";

/**
 * A string of up to `maxLength` characters drawn from `unit` or `specials`, written as JSON with
 * each code unit either as a `\u` escape or as `JSON.stringify` writes it: `value` is the string,
 * `text` the JSON string token.
 */
export function escapedString(
  unit: fc.Arbitrary<string>,
  specials: readonly string[],
  maxLength: number,
): fc.Arbitrary<{ value: string; text: string }> {
  return fc.array(fc.tuple(fc.oneof(unit, fc.constantFrom(...specials)), fc.boolean()), { maxLength }).map((chars) => {
    const value = chars.map(([c]) => c).join("");
    const body = chars
      .flatMap(([c, esc]) => c.split("").map((u) => [u, esc] as const))
      .map(([u, esc]) => (esc ? `\\u${u.charCodeAt(0).toString(16).padStart(4, "0")}` : JSON.stringify(u).slice(1, -1)))
      .join("");
    return { value, text: `"${body}"` };
  });
}
