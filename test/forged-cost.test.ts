/**
 * Forged input stays cheap (issue 10, item 10) without changing what verifies. The Cregis
 * signing text sorts keys in UTF-8 byte order; the comparator does it without encoding the keys,
 * so it must order exactly as comparing the encoded bytes does, for every string a JSON key can
 * hold: surrogate pairs, U+E000..U+FFFF (where UTF-16 order and byte order disagree) and
 * unpaired surrogates (which UTF-8 encoding turns into U+FFFD). The CPU a forged body costs is
 * measured by `npm run bench` ("CPU per forged request"), never asserted here.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareUtf8, cregisSigningText, verifyCregis } from "../src/verify/cregis";
import { toHex, utf8 } from "../src/verify/crypto";
import { topLevelMembers } from "../src/verify/json-text";
import { md5 } from "../src/verify/md5";

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
  // shapes of the bench's costliest forged Cregis bodies, small enough to check exactly.
  const keys = Array.from(
    { length: 600 },
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
