/**
 * Canonical JSON (RFC 8785's shape: object keys sorted by UTF-16 code units, no whitespace), the
 * signing text of Coins' `data` and of Cregis' nested values: written from a parsed value
 * (`canonicalJson`), or straight from the raw text without parsing it (`canonicalText`,
 * `canonicalJsonText`), so that unverified input never reaches `JSON.parse` as a whole (workerd's
 * can misread an escaped object key: test/forged-cost.test.ts).
 */
import { MAX_JSON_DEPTH, NOT_A_NUMBER, NUMBER, Scanner } from "./scanner";
import { decodeString, skipWhitespaceAt, stringEnd } from "./tokens";

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
  const out = canonical(scanner, 0, javascript);
  scanner.skipWhitespace();
  return out !== undefined && scanner.pos === raw.length ? out : undefined;
}

/**
 * Reads one value at the scanner's position and returns its canonical text: object keys sorted
 * by UTF-16 code units, no whitespace, strings re-encoded from their decoded value. Numbers keep
 * their exact digits and a repeated key is refused (`canonicalText`), or, with `javascript`, are
 * what JSON.parse then JSON.stringify make of them and a repeated key's last value is kept
 * (`canonicalJsonText`). One call per container, as the scanner's own reader.
 */
function canonical(scanner: Scanner, depth: number, javascript: boolean): string | undefined {
  if (depth > MAX_JSON_DEPTH) return undefined;
  const text = scanner.text;
  const c = text.charCodeAt(scanner.pos);
  if (c !== 0x7b && c !== 0x5b) return canonicalScalar(scanner, depth, javascript);
  const keyed = c === 0x7b;
  const close = c + 2;
  let out = keyed ? "{" : "[";
  let items = 0;
  const entries: [string, string][] = [];
  let sorted = true; // are the keys, as read so far, in strictly ascending order?
  let p = skipWhitespaceAt(text, scanner.pos + 1);
  if (text.charCodeAt(p) === close) {
    scanner.pos = p + 1;
    return keyed ? "{}" : "[]";
  }
  for (;;) {
    let key: string | undefined;
    if (keyed) {
      const keyEnd = stringEnd(text, p);
      if (keyEnd < 0) return undefined;
      key = decodeString(text.slice(p, keyEnd));
      p = skipWhitespaceAt(text, keyEnd);
      if (text.charCodeAt(p) !== 0x3a) return undefined;
      p = skipWhitespaceAt(text, p + 1);
    }
    scanner.pos = p;
    const inner = canonical(scanner, depth + 1, javascript);
    if (inner === undefined) return undefined;
    p = skipWhitespaceAt(text, scanner.pos);
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
    scanner.pos = p + 1;
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
function canonicalScalar(scanner: Scanner, depth: number, javascript: boolean): string | undefined {
  const text = scanner.text;
  const start = scanner.pos;
  const c = text.charCodeAt(start);
  if (c === 0x22) {
    const end = stringEnd(text, start);
    if (end < 0) return undefined;
    scanner.pos = end;
    return JSON.stringify(decodeString(text.slice(start, end)));
  }
  const number = scanner.number();
  if (number === NOT_A_NUMBER && scanner.value(depth) === undefined) return undefined;
  const raw = text.slice(start, scanner.pos);
  if (!javascript || number !== NUMBER) return raw;
  // Number() reads a JSON number's text exactly as JSON.parse does; this writes what
  // JSON.stringify of the result would (`1.0` → `1`, `1e999` → `null`, `-0` → `0`).
  const n = Number(raw);
  return n - n === 0 ? String(n) : "null";
}
