/**
 * Forged input stays cheap (issue 10, item 10) without changing what verifies. The Cregis
 * signing text sorts keys in UTF-8 byte order; the comparator does it without encoding the keys,
 * so it must order exactly as comparing the encoded bytes does, for every string a JSON key can
 * hold: surrogate pairs, U+E000..U+FFFF (where UTF-16 order and byte order disagree) and
 * unpaired surrogates (which UTF-8 encoding turns into U+FFFD). The raw JSON scanner and the
 * canonical JSON writer were rewritten for cost too: they must read and write exactly as before
 * (JSON.parse is the reference for reading; the plain RFC 8785 recursion for writing). The CPU a
 * forged body costs is measured by `npm run bench` ("CPU per forged request"), never asserted here.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CREGIS_MAX_MEMBERS, compareUtf8, cregisSigningText, verifyCregis } from "../src/providers/cregis/verify";
import { toHex, utf8 } from "../src/verify/crypto";
import { canonicalJson, jsonProblem, stringValue, topLevelMembers } from "../src/verify/json-text";
import { md5 } from "../src/verify/md5";
import { escapedString } from "./support/json-arbitraries";

/** The reference: compare the UTF-8 bytes TextEncoder writes. */
function compareBytes(a: string, b: string): number {
  const x = utf8(a);
  const y = utf8(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  return x.length - y.length;
}

/** Code units from every range that matters to UTF-8 order, paired and unpaired surrogates included. */
const unit = fc.oneof(
  fc.constantFrom("a", "b", "~", "\u007f", "\u0080", "\u07ff", "\u0800", "\ud7ff", "\ud800", "\udbff", "\udc00", "\udfff"),
  fc.constantFrom("\ue000", "\uf8ff", "\ufffd", "\uffff", "\u{10000}", "\u{1f600}", "\u{10ffff}"),
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c)),
);
const key = fc.array(unit, { maxLength: 8 }).map((units) => units.join(""));
/** Two keys that often share a prefix, so comparisons reach the units that decide. */
const pair = fc.tuple(key, key, key).map(([prefix, a, b]) => [prefix + a, prefix + b] as const);

const sign = (n: number) => Math.sign(n);

describe("compareUtf8 orders exactly as UTF-8 bytes do", () => {
  it("agrees with a byte comparison on every pair (sign), including surrogates and U+E000..U+FFFF", () => {
    fc.assert(
      fc.property(pair, ([a, b]) => {
        expect(sign(compareUtf8(a, b))).toBe(sign(compareBytes(a, b)));
        expect(sign(compareUtf8(b, a))).toBe(sign(compareBytes(b, a)));
      }),
      { numRuns: 20_000 },
    );
  });

  it("sorts any list of keys into the same order as sorting by bytes (ties keep body order)", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            key,
            pair.map(([a]) => a),
          ),
          { maxLength: 40 },
        ),
        (keys) => {
          expect([...keys].sort(compareUtf8)).toEqual([...keys].sort(compareBytes));
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it("puts a surrogate pair after U+E000..U+FFFF (UTF-16 order says the opposite) and an unpaired surrogate at U+FFFD", () => {
    expect(sign(compareUtf8("\u{10000}", "\uffff"))).toBe(1);
    expect(sign(compareUtf8("\ue000", "\ud800\udc00"))).toBe(-1);
    expect(compareUtf8("\ud800", "\ufffd")).toBe(0);
    expect(compareUtf8("x\udfff", "x\ud800")).toBe(0);
    expect(sign(compareUtf8("\ud800", "\ud800\udc00"))).toBe(-1);
    expect(sign(compareUtf8("\ud83d", "\ufffe"))).toBe(-1);
    expect(sign(compareUtf8("ab", "a"))).toBe(1);
    expect(compareUtf8("", "")).toBe(0);
  });
});

describe("Cregis signing text over many non-ASCII keys", () => {
  // Keys that start in U+E000..U+FFFF or with a surrogate pair, and unpaired surrogates: the
  // shapes of the bench's costliest forged Cregis bodies, small enough to check exactly, and as
  // many as a body may have besides `sign` (CREGIS_MAX_MEMBERS).
  const keys = Array.from(
    { length: CREGIS_MAX_MEMBERS - 1 },
    (_, i) => [String.fromCodePoint(0x10000 + i * 97), String.fromCharCode(0xe000 + i * 13), `\\ud800${i}`, `\\ufffd${i}`, `k${i}`][i % 5],
  );
  const text = `{${keys.map((k, i) => `"${k}":"v${i}"`).join(",")},"sign":"${"0".repeat(32)}"}`;

  it("is the members' key+value pairs in UTF-8 byte order of the keys", () => {
    const members = topLevelMembers(text)!;
    const expected = [...members.keys()]
      .filter((k) => k !== "sign")
      .sort(compareBytes)
      .map((k) => k + JSON.parse(members.get(k)!.raw))
      .join("");
    expect(cregisSigningText(members, { nestedValues: "reject" })).toBe(expected);
  });

  it("verifies when signed over that order, not when signed over UTF-16 order", async () => {
    const members = topLevelMembers(text)!;
    const signed = (signingText: string) => text.replace("0".repeat(32), toHex(md5(utf8(`api-key${signingText}`))));
    const request = (body: string) => ({ body: utf8(body), headers: new Headers(), method: "POST", url: "https://gateway.test/", now: 0 });
    const byteOrder = cregisSigningText(members, { nestedValues: "reject" })!;
    const utf16Order = [...members.keys()]
      .filter((k) => k !== "sign")
      .sort()
      .map((k) => k + JSON.parse(members.get(k)!.raw))
      .join("");
    expect(utf16Order).not.toBe(byteOrder);
    expect(await verifyCregis(request(signed(byteOrder)), ["api-key"])).toEqual({ ok: true });
    expect(await verifyCregis(request(signed(utf16Order)), ["api-key"])).toEqual({ ok: false, reason: "bad_signature" });
  });
});

/** JSON text for a value, with arbitrary whitespace, escapes and number spellings, built with it. */
/** A JSON value and text that spells it; an object also lists its members as written. */
type Written = { value: unknown; text: string; members?: { key: string; text: string; value: unknown }[] };
const ws = fc.constantFrom("", "", " ", "\n", "\t", "\r\n  ");
const escaped = escapedString(unit, ['"', "\\", "/", "\u0000", "\u001f", "\b"], 6);
const number = fc.oneof(
  fc.integer().map((n) => ({ value: n, text: String(n) })),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => ({ value: n, text: JSON.stringify(n) })),
  fc.constantFrom(
    { value: 1, text: "1.0" },
    { value: 100, text: "1E2" },
    { value: 0.01, text: "1e-2" },
    { value: -0, text: "-0" },
    { value: 12, text: "1.2e+1" },
    { value: 1382528827416576, text: "1382528827416576" },
  ),
);
const { written, object } = fc.letrec<{ written: Written; array: Written; object: Written }>((tie) => ({
  written: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    number,
    escaped,
    fc.constantFrom({ value: true, text: "true" }, { value: false, text: "false" }, { value: null, text: "null" }),
    tie("array"),
    tie("object"),
  ),
  array: fc.array(fc.tuple(ws, tie("written"), ws), { maxLength: 4 }).map((items) => ({
    value: items.map(([, w]) => w.value),
    text: `[${items.length === 0 ? "" : items.map(([a, w, b]) => a + w.text + b).join(",")}]`,
  })),
  object: fc.uniqueArray(fc.tuple(escaped, ws, tie("written"), ws), { maxLength: 4, selector: ([k]) => k.value }).map((members) => ({
    value: Object.fromEntries(members.map(([k, , w]) => [k.value, w.value])),
    members: members.map(([k, , w]) => ({ key: k.value, text: w.text, value: w.value })),
    text: `{${members.map(([k, a, w, b]) => `${a}${k.text}${b}:${a}${w.text}${b}`).join(",")}}`,
  })),
}));

/** Strings made of JSON's tokens: mostly not JSON, sometimes almost. */
const garbage = fc
  .array(
    fc.constantFrom("{", "}", "[", "]", '"a"', '"b"', ":", ",", " ", "1", "0", "-", ".", "e", "+", "true", "nul", "null", '"\\u00', "\\"),
    {
      maxLength: 16,
    },
  )
  .map((tokens) => tokens.join(""));

describe("the raw JSON scanner reads exactly what JSON.parse reads", () => {
  // The reference for keys and values is the generator's own model, not JSON.parse: workerd's
  // JSON.parse can misread an escaped key (see the last test below).
  it("returns every member of any object text as written: its key, its exact value text and its kind", () => {
    const kindOf = (v: unknown) =>
      v === null ? "null" : Array.isArray(v) ? "array" : typeof v === "object" ? "object" : typeof v === "boolean" ? String(v) : typeof v;
    fc.assert(
      fc.property(fc.tuple(ws, object, ws), ([before, w, after]) => {
        const text = before + w.text + after;
        const members = topLevelMembers(text);
        expect(members).toBeDefined();
        expect(jsonProblem(text)).toBeUndefined();
        // Keys compared as JSON.stringify writes them: a failure message must not carry a lone surrogate.
        expect(JSON.stringify([...members!.keys()])).toBe(JSON.stringify(w.members!.map((m) => m.key)));
        for (const m of w.members!) {
          const member = members!.get(m.key)!;
          expect(member.raw).toBe(m.text);
          expect(member.kind).toBe(kindOf(m.value));
          expect(JSON.stringify(stringValue(member))).toBe(JSON.stringify(typeof m.value === "string" ? m.value : undefined));
        }
      }),
      { numRuns: 3_000 },
    );
  });

  it("refuses whatever JSON.parse refuses, and what it accepts reads the same", () => {
    fc.assert(
      fc.property(garbage, garbage, (a, b) => {
        for (const text of [`{"k":${a}}`, `{${a}}`, `{"k":${a},"j":${b}}`, a]) {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            expect(topLevelMembers(text)).toBeUndefined();
            // Refused too; a key repeated before the syntax error is reported as such.
            expect(["not JSON", "duplicate key"]).toContain(jsonProblem(text));
            continue;
          }
          const members = topLevelMembers(text);
          if (members === undefined) continue; // e.g. a repeated key, which JSON.parse resolves
          expect(members.size).toBe(Object.keys(parsed as object).length);
          for (const member of members.values()) JSON.parse(member.raw);
        }
      }),
      { numRuns: 5_000 },
    );
  });
});

/** RFC 8785 as the plain recursion writes it: the reference for the faster writer. */
function referenceCanonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(referenceCanonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${referenceCanonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

describe("canonical JSON writes what the plain recursion writes", () => {
  it("for any parsed JSON, keys that look like indexes, __proto__ and non-ASCII keys included", () => {
    const tricky = fc.constantFrom("10", "9", "-1", "01", "1.5", "__proto__", "\u{1f600}", "\ue000", "\ud800", "", "a");
    const keyed = fc.dictionary(fc.oneof(tricky, key), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          keyed,
          fc.array(keyed, { maxLength: 3 }),
          written.map((w) => w.value),
        ),
        (input) => {
          const value = JSON.parse(JSON.stringify(input)) as unknown;
          expect(canonicalJson(value)).toBe(referenceCanonical(value));
        },
      ),
      { numRuns: 5_000 },
    );
  });
});

describe("workerd's JSON.parse and escaped keys", () => {
  it("the scanner reads an escaped key right where JSON.parse, after an object with a backslash key, does not", () => {
    // Seen in workerd 1.20260426 (not in Node 20): once an object {"x":…,"\\":…} has been parsed,
    // JSON.parse reads the key "\"" of {"x":…,"\"":…} as a backslash. The scanner decodes each
    // key token on its own, so it is not misled.
    JSON.parse('{"x":0,"\\\\":0}');
    expect([...(topLevelMembers('{"x":0,"\\"":0}')?.keys() ?? [])]).toEqual(["x", '"']);
    expect([...(topLevelMembers('{"x":0,"\\u0041":0}')?.keys() ?? [])]).toEqual(["x", "A"]);
  });
});
