/**
 * JSON tokens read in place, on UTF-16 code units: whitespace, digit runs, string tokens and
 * their decoding. The scanner (./scanner.ts) and its readers build on these.
 *
 * The reading loops work on code units with plain functions, not regular expressions or a method
 * call per token: a forged body of 256 KiB can hold 100,000 tokens, and per-token overhead was
 * most of what reading it cost (docs/benchmarks.md, "CPU per forged request"). charCodeAt past
 * the end is NaN, which every comparison here treats as "no".
 */

export const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);

/** The position of the first character at or after `p` that is not JSON whitespace. */
export function skipWhitespaceAt(text: string, p: number): number {
  for (;;) {
    const c = text.charCodeAt(p);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return p;
    p++;
  }
}

/** The position after the run of digits at `p`: a loop for a few, a regex for a long run. */
export function digitsEnd(text: string, p: number): number {
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
export function stringEnd(text: string, p: number): number {
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

/**
 * The value of a string token `stringEnd` has matched (quotes included). Without a backslash its
 * text between the quotes is the value (a token admits no quote or control character there), and
 * slicing costs far less than JSON.parse on a body of thousands of keys. Only such single tokens
 * ever reach JSON.parse: workerd's can misread an escaped key in a whole object.
 */
export function decodeString(token: string): string {
  return token.includes("\\") ? (JSON.parse(token) as string) : token.slice(1, -1);
}

/** The value of a hexadecimal digit's code unit (one `stringEnd` has checked). */
const hexDigit = (c: number) => (c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57);

/** The code unit each one-character JSON escape (`\"`, `\n`, ...) stands for, by the character after the backslash. */
const ESCAPED: Readonly<Record<string, number>> = { '"': 0x22, "\\": 0x5c, "/": 0x2f, b: 0x08, f: 0x0c, n: 0x0a, r: 0x0d, t: 0x09 };

/**
 * Whether the string token text[start, end) (quotes included, already read by `stringEnd`, so its
 * escapes are valid) decodes to `value`: compared unit by unit, stopping at the first difference.
 */
export function tokenIs(text: string, start: number, end: number, value: string): boolean {
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
