/**
 * Forged input stays cheap (issue 10, item 10), by bounding what is read before a signature is
 * checked, without changing what verifies:
 * - Cregis: explicit limits on the top-level members, the nested text signed as canonical JSON
 *   and its depth (exported by src/providers/cregis/verify.ts); exactly at a limit verifies, one over is
 *   refused as malformed_signature (401, nothing stored), genuine callbacks are far below them.
 *   The canonical JSON of a nested value is written from the raw text by the scanner (no
 *   JSON.parse of unverified input): it must be byte for byte what the former
 *   `canonicalJson(JSON.parse(raw))` wrote, numbers re-printed as JavaScript prints them and a
 *   repeated key's last value kept.
 * - CYBAVO with per-wallet secrets: `wallet_id` is found in one pass that keeps no other member;
 *   it must return what the former `topLevelMembers(text)?.get("wallet_id")` returned.
 * The CPU each costs is measured by `npm run bench` ("CPU per forged request"), never asserted.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CREGIS_MAX_MEMBERS, CREGIS_MAX_NESTED_CHARS, cregisSigningText, verifyCregis } from "../src/providers/cregis/verify";
import { verifyCybavo } from "../src/providers/cybavo/verify";
import { toHex, utf8 } from "../src/verify/crypto";
import {
  canonicalJson,
  canonicalJsonText,
  canonicalText,
  MAX_JSON_DEPTH,
  type RawMember,
  topLevelMember,
  topLevelMembers,
} from "../src/verify/json-text";
import { md5 } from "../src/verify/md5";
import { captureLogs, cybavoChecksum, post, secrets, storedEvents, uniqueAccount } from "./support/gateway";
import { escapedString } from "./support/json-arbitraries";

const cregisFixtures = import.meta.glob<Record<string, unknown>>("../src/providers/cregis/fixtures/*.json", {
  eager: true,
  import: "default",
});
const API_KEY = secrets.CREGIS_API_KEY;
const request = (body: string) => ({ body: utf8(body), headers: new Headers(), method: "POST", url: "https://gateway.test/", now: 0 });

/** RFC 8785 as the plain recursion writes it over a parsed value: the reference. */
function referenceCanonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(referenceCanonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${referenceCanonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * A Cregis body signed the way Cregis' SDKs sign, written independently of src/verify: `fields`
 * are [ASCII key, JSON text]; a nested value signs as the reference canonical JSON of its parse
 * (the texts used here have no backslash in a key, where workerd's JSON.parse can misread).
 */
function cregisSigned(fields: [string, string][]): string {
  const signingText = fields
    .filter(([, json]) => json !== "null" && json !== '""')
    .map(([key, json]) => {
      const value: unknown = JSON.parse(json);
      return [key, typeof value === "string" ? value : typeof value === "object" ? referenceCanonical(value) : json] as const;
    })
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => k + v)
    .join("");
  const sign = toHex(md5(utf8(API_KEY + signingText)));
  return `{${[...fields, ["sign", JSON.stringify(sign)]].map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`;
}

const canonical = { nestedValues: "canonical-json" } as const;
const members = (n: number): [string, string][] => Array.from({ length: n }, (_, i) => [`k${String(i).padStart(4, "0")}`, String(i)]);
/** A JSON object text of exactly `chars` characters: `{"a":"xx…x"}`. */
const objectOf = (chars: number) => `{"a":"${"x".repeat(chars - 8)}"}`;

describe("Cregis: limits on what is read before the signature is checked", () => {
  it("are far above a genuine callback: about 10-20 members and a nested data of about 1 KB", () => {
    expect(CREGIS_MAX_MEMBERS).toBe(256);
    expect(CREGIS_MAX_NESTED_CHARS).toBe(16_384);
  });

  it("verifies a body of exactly CREGIS_MAX_MEMBERS top-level members (sign included); one more is malformed_signature", async () => {
    const atLimit = cregisSigned(members(CREGIS_MAX_MEMBERS - 1));
    expect(await verifyCregis(request(atLimit), [API_KEY])).toEqual({ ok: true });
    // Null and "" members are not signed but are read: they count.
    const withNull = cregisSigned([...members(CREGIS_MAX_MEMBERS - 2), ["memo", "null"]]);
    expect(await verifyCregis(request(withNull), [API_KEY])).toEqual({ ok: true });
    const overLimit = cregisSigned(members(CREGIS_MAX_MEMBERS));
    expect(await verifyCregis(request(overLimit), [API_KEY])).toEqual({ ok: false, reason: "malformed_signature" });
    const overWithNull = cregisSigned([...members(CREGIS_MAX_MEMBERS - 1), ["memo", '""']]);
    expect(await verifyCregis(request(overWithNull), [API_KEY])).toEqual({ ok: false, reason: "malformed_signature" });
  });

  it("verifies nested values of exactly CREGIS_MAX_NESTED_CHARS characters in all (canonical-json); one more is malformed_signature", async () => {
    const one = cregisSigned([
      ["pid", "1"],
      ["data", objectOf(CREGIS_MAX_NESTED_CHARS)],
    ]);
    expect(await verifyCregis(request(one), [API_KEY], canonical)).toEqual({ ok: true });
    const oneOver = cregisSigned([
      ["pid", "1"],
      ["data", objectOf(CREGIS_MAX_NESTED_CHARS + 1)],
    ]);
    expect(await verifyCregis(request(oneOver), [API_KEY], canonical)).toEqual({ ok: false, reason: "malformed_signature" });
    // The limit is on all nested values together, so splitting one value into several gains nothing.
    const half = CREGIS_MAX_NESTED_CHARS / 2;
    const two = cregisSigned([
      ["a", objectOf(half)],
      ["b", `[${"1,".repeat(half / 2 - 2)}11]`],
    ]);
    expect(await verifyCregis(request(two), [API_KEY], canonical)).toEqual({ ok: true });
    const twoOver = cregisSigned([
      ["a", objectOf(half)],
      ["b", `[${"1,".repeat(half / 2 - 2)}11 ]`],
    ]);
    expect(await verifyCregis(request(twoOver), [API_KEY], canonical)).toEqual({ ok: false, reason: "malformed_signature" });
    // Under the default option a nested value is unsignable anyway; over the limit says so too.
    expect(await verifyCregis(request(oneOver), [API_KEY])).toEqual({ ok: false, reason: "malformed_signature" });
  });

  it("verifies a nested value MAX_JSON_DEPTH + 1 levels deep (canonical-json); one level more is malformed_signature", async () => {
    const nested = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`;
    const atLimit = cregisSigned([["data", nested(MAX_JSON_DEPTH + 1)]]);
    expect(await verifyCregis(request(atLimit), [API_KEY], canonical)).toEqual({ ok: true });
    const tooDeep = cregisSigned([["data", nested(MAX_JSON_DEPTH + 2)]]);
    expect(await verifyCregis(request(tooDeep), [API_KEY], canonical)).toEqual({ ok: false, reason: "malformed_signature" });
  });

  it("leaves genuine callbacks alone: every fixture, the payment engine's data as a string and as an object, the SDK vector", async () => {
    expect(Object.keys(cregisFixtures)).toHaveLength(7);
    for (const fixture of Object.values(cregisFixtures)) {
      const fields = Object.entries(fixture).map(([k, v]): [string, string] => [k, JSON.stringify(v)]);
      for (const options of [{}, canonical])
        expect(await verifyCregis(request(cregisSigned(fields)), [API_KEY], options)).toEqual({ ok: true });
      if (typeof fixture.data !== "string") continue;
      const asObject = fields.map(([k, v]): [string, string] => [k, k === "data" ? (JSON.parse(v) as string) : v]);
      expect(await verifyCregis(request(cregisSigned(asObject)), [API_KEY], canonical)).toEqual({ ok: true });
    }
    // Cregis' newer SDK's nested vector (test/providers/cregis.test.ts has it too).
    const vector =
      '{"data":{"cregis_id":"po-test","order_id":"merchant-test","refund_id":"rf-test","refund_status":1},"event_name":"order","event_type":"refunded","nonce":"abc123","pid":123456789,"timestamp":1719994383015,"sign":"9e2b39ae45341e1d912dda3e31a3dddf"}';
    expect(await verifyCregis(request(vector), ["fixture-api-key"], canonical)).toEqual({ ok: true });
  });

  it("through the gateway: one member over the limit answers 401, logs malformed_signature and stores nothing", async () => {
    const pid = String(uniqueAccount());
    const body = cregisSigned([["pid", pid], ["cid", "1"], ["status", "6"], ...members(CREGIS_MAX_MEMBERS - 3)]);
    const { result, lines } = await captureLogs(() => post("cregis", body));
    expect(result.status).toBe(401);
    expect(lines.filter((l) => l.msg === "ingress")).toEqual([
      expect.objectContaining({ source: "cregis", outcome: "rejected", reason: "malformed_signature" }),
    ]);
    expect(await storedEvents("cregis", pid)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Generated JSON texts, each with the value JSON.parse gives it (the model: not JSON.parse itself,
// which workerd can get wrong, see the last test), whitespace, escapes, number spellings and
// repeated keys included.

/**
 * A JSON text and its model: the value JSON.parse gives it, and `exact`, its canonical text with
 * numbers as written, undefined if an object in it repeats a key (what `canonicalText` writes).
 */
type Written = { value: unknown; text: string; exact?: string | undefined };
/** `exact` of a scalar: a number's digits as written, a string as JSON.stringify writes it. */
const exactOf = (w: Written) => ("exact" in w ? w.exact : typeof w.value === "string" ? JSON.stringify(w.value) : w.text);
const ws = fc.constantFrom("", "", " ", "\n", "\t", "\r\n  ");
const unit = fc.oneof(
  fc.constantFrom("a", "b", "~", "\u007f", "\u0080", "\u07ff", "\ud7ff", "\ud800", "\udc00", "\ue000", "\uffff", "\u{1f600}"),
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
);
const escaped = escapedString(unit, ['"', "\\", "/", "\u0000", "\u001f", "\b", "x"], 5);
/** Keys from a small set, so objects often repeat one; `__proto__` and index-like keys included. */
const smallKey = fc.oneof(
  escaped,
  fc.constantFrom("a", "b", "__proto__", "10", "9", '"', "\\", "\u{1f600}", "\ue000").map((k) => ({ value: k, text: JSON.stringify(k) })),
);
const number = fc.oneof(
  fc.integer().map((n): Written => ({ value: n, text: String(n) })),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n): Written => ({ value: n, text: JSON.stringify(n) })),
  fc.constantFrom<Written>(
    { value: 1, text: "1.0" },
    { value: 100, text: "1E2" },
    { value: 0.01, text: "1e-2" },
    { value: -0, text: "-0" },
    { value: 12, text: "1.2e+1" },
    { value: 1382528827416576, text: "1382528827416576" },
    { value: 13825288274165760, text: "13825288274165761" },
    { value: 999999999999999, text: "999999999999999" },
    { value: -999999999999999, text: "-999999999999999" },
    { value: 10000000000000000, text: "9999999999999999" },
    { value: -0, text: "-0.0" },
    { value: 0, text: "-0e5" },
    { value: 0.1, text: "0.1000000000000000055511151231257827" },
    { value: 12345678901234567000, text: "12345678901234567890.123456789" },
    { value: 5e-324, text: "4.9406564584124654e-324" },
    { value: 0, text: "1e-400" },
    { value: Number.POSITIVE_INFINITY, text: "1e999" },
    { value: Number.NEGATIVE_INFINITY, text: "-1E+999" },
  ),
);
const { written } = fc.letrec<{ written: Written; array: Written; object: Written }>((tie) => ({
  written: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    number,
    escaped,
    fc.constantFrom<Written>({ value: true, text: "true" }, { value: false, text: "false" }, { value: null, text: "null" }),
    tie("array"),
    tie("object"),
  ),
  array: fc.array(fc.tuple(ws, tie("written"), ws), { maxLength: 4 }).map(
    (items): Written => ({
      value: items.map(([, w]) => w.value),
      text: `[${items.map(([a, w, b]) => a + w.text + b).join(",")}]`,
      exact: items.some(([, w]) => exactOf(w) === undefined) ? undefined : `[${items.map(([, w]) => exactOf(w)).join(",")}]`,
    }),
  ),
  object: fc.array(fc.tuple(smallKey, ws, tie("written"), ws), { maxLength: 5 }).map(
    (entries): Written => ({
      // As JSON.parse builds it: own data properties (`__proto__` too), a repeated key's last value.
      value: Object.fromEntries(entries.map(([k, , w]) => [k.value, w.value])),
      text: `{${entries.map(([k, a, w, b]) => `${a}${k.text}${b}:${a}${w.text}${b}`).join(",")}}`,
      exact:
        new Set(entries.map(([k]) => k.value)).size < entries.length || entries.some(([, , w]) => exactOf(w) === undefined)
          ? undefined
          : `{${entries
              .map(([k, , w]) => [k.value as string, exactOf(w) as string] as const)
              .sort(([x], [y]) => (x < y ? -1 : 1))
              .map(([k, v]) => `${JSON.stringify(k)}:${v}`)
              .join(",")}}`,
    }),
  ),
}));

describe("Cregis canonical-json: the signed text of a nested value is what canonicalJson(JSON.parse(raw)) wrote", () => {
  it("for any object or array value: keys sorted, whitespace and escapes gone, numbers re-printed, a repeated key's last value", () => {
    const container = written.filter((w) => typeof w.value === "object" && w.value !== null);
    fc.assert(
      fc.property(container, ws, ws, (w, a, b) => {
        const text = `{"data":${a}${w.text}${b},"sign":"${"0".repeat(32)}"}`;
        // Compared as JSON.stringify writes them: a failure message must not carry a lone surrogate.
        expect(JSON.stringify(cregisSigningText(topLevelMembers(text)!, canonical))).toBe(JSON.stringify(`data${canonicalJson(w.value)}`));
      }),
      { numRuns: 5_000 },
    );
  });

  it("shares its writer with canonicalText, which keeps every number's digits and refuses a repeated key", () => {
    fc.assert(
      fc.property(written, ws, ws, (w, a, b) => {
        expect(JSON.stringify(canonicalText(a + w.text + b))).toBe(JSON.stringify(exactOf(w)));
        expect(JSON.stringify(canonicalJsonText(a + w.text + b))).toBe(JSON.stringify(canonicalJson(w.value)));
      }),
      { numRuns: 5_000 },
    );
  });

  it("is not misled where workerd's JSON.parse misreads an escaped key", async () => {
    // workerd 1.20260426: once {"x":…,"\\":…} has been parsed, JSON.parse reads the key "\"" of
    // {"x":…,"\"":…} as a backslash. The verifier no longer parses unverified input.
    JSON.parse('{"x":0,"\\\\":0}');
    const data = '{"x":0,"\\"":0}';
    const signingText = `data${referenceCanonical({ x: 0, '"': 0 })}pid1`;
    expect(signingText).toBe('data{"\\"":0,"x":0}pid1');
    const body = `{"pid":1,"data":${data},"sign":"${toHex(md5(utf8(API_KEY + signingText)))}"}`;
    JSON.parse('{"x":0,"\\\\":0}');
    expect(await verifyCregis(request(body), [API_KEY], canonical)).toEqual({ ok: true });
  });
});

// ---------------------------------------------------------------------------------------------
// CYBAVO: the wallet lookup

/** Spellings of `wallet_id` and keys that are almost it. */
const walletKey = fc.constantFrom(
  { value: "wallet_id", text: '"wallet_id"' },
  { value: "wallet_id", text: '"wallet\\u005fid"' },
  { value: "wallet_id", text: '"\\u0077allet_id"' },
  { value: "wallet_id", text: '"wallet_i\\u0064"' },
  { value: "wallet_i", text: '"wallet_i"' },
  { value: "wallet_idx", text: '"wallet_idx"' },
  { value: "wallet_id\u0000", text: '"wallet_id\\u0000"' },
  { value: "Wallet_id", text: '"Wallet_id"' },
  { value: "wallet\\id", text: '"wallet\\\\id"' },
  { value: "serial", text: '"serial"' },
);
const walletValue = fc.oneof(
  written,
  fc.constantFrom("7", "7.0", "7e0", "-7", "0", "12345678901234567", '"7"').map((text) => ({ value: undefined, text })),
);
const member = fc.tuple(fc.oneof(walletKey, smallKey), ws, walletValue, ws);
/** A top-level object as written, sometimes with a flaw the scanner must refuse. */
const cybavoBody = fc
  .tuple(ws, fc.array(member, { maxLength: 8 }), ws, fc.constantFrom("", "", "", ",", "}", "x", "[", " {"))
  .map(([before, entries, after, flaw]) => ({ before, entries, after, flaw }));

type Body = {
  before: string;
  entries: [{ value: unknown; text: string }, string, { text: string }, string][];
  after: string;
  flaw: string;
};
const write = ({ before, entries, after, flaw }: Body, keyText: (i: number) => string) =>
  `${before}{${entries.map(([, a, w, b], i) => `${a}${keyText(i)}${b}:${a}${w.text}${b}`).join(",")}}${after}${flaw}`;

describe("CYBAVO per-wallet secrets: the wallet_id lookup", () => {
  it("returns what topLevelMembers(text)?.get('wallet_id') returned (other repeated keys renamed apart, the one difference)", () => {
    fc.assert(
      fc.property(cybavoBody, (body) => {
        const text = write(body, (i) => body.entries[i]![0].text);
        // The former lookup refused a body that repeats any key; the new one refuses a repeated
        // wallet_id only (a repeated other key is quarantined after verification, if it verifies).
        const seen = new Set<unknown>();
        const renamed = write(body, (i) => {
          const key = body.entries[i]![0];
          if (key.value === "wallet_id" || !seen.has(key.value)) {
            seen.add(key.value);
            return key.text;
          }
          return JSON.stringify(`\u0000renamed ${i}`);
        });
        const expected: RawMember | undefined = topLevelMembers(renamed)?.get("wallet_id");
        expect(topLevelMember(text, "wallet_id")).toEqual(expected);
        // Without another repeated key the body is unchanged: exactly the former answer.
        if (renamed === text) expect(topLevelMember(text, "wallet_id")).toEqual(topLevelMembers(text)?.get("wallet_id"));
      }),
      { numRuns: 10_000 },
    );
  });

  it("refuses a repeated wallet_id however it is spelled, a non-object body and a body nested too deep", () => {
    expect(topLevelMember('{"wallet_id":5,"wallet\\u005fid":7}', "wallet_id")).toBeUndefined();
    expect(topLevelMember('{"wallet_id":5,"x":1,"wallet_id":5}', "wallet_id")).toBeUndefined();
    expect(topLevelMember('[{"wallet_id":5}]', "wallet_id")).toBeUndefined();
    expect(
      topLevelMember(`{"wallet_id":5,"x":${"[".repeat(MAX_JSON_DEPTH + 2)}${"]".repeat(MAX_JSON_DEPTH + 2)}}`, "wallet_id"),
    ).toBeUndefined();
    expect(topLevelMember('{"wallet_id":5,"x":1,"x":2}', "wallet_id")).toEqual({ raw: "5", kind: "number" });
    expect(topLevelMember('{"w":1,"wallet\\u005fid" : 7.0 }', "wallet_id")).toEqual({ raw: "7.0", kind: "number" });
  });

  it("a source-wide secret still cannot sign for a mapped wallet through an escaped or repeated wallet_id", async () => {
    const walletSecrets = { "7": [secrets.CYBAVO_WALLET_7_SECRET] };
    const check = async (body: string, secret: string) =>
      verifyCybavo(
        { ...request(body), headers: new Headers({ "X-CHECKSUM": await cybavoChecksum(body, secret) }) },
        [secrets.CYBAVO_API_SECRET],
        { walletSecrets },
      );
    const source = secrets.CYBAVO_API_SECRET;
    expect(await check('{"wallet_id":5,"serial":1}', source)).toEqual({ ok: true });
    expect(await check('{"wallet_id":5,"wallet\\u005fid":7,"serial":1}', source)).toEqual({ ok: false, reason: "malformed_signature" });
    expect(await check('{"wallet\\u005fid":7,"serial":1}', source)).toEqual({ ok: false, reason: "bad_signature" });
    expect(await check('{"wallet\\u005fid":7,"serial":1}', secrets.CYBAVO_WALLET_7_SECRET)).toEqual({ ok: true });
  });

  it("through the gateway: a wallet-signed body that repeats another key is kept in quarantine, not refused or delivered", async () => {
    const serial = uniqueAccount();
    const body = `{"type":1,"serial":${serial},"serial":${serial + 1},"wallet_id":7,"currency":"BTC","amount":"1"}`;
    const checksum = await cybavoChecksum(body, secrets.CYBAVO_WALLET_7_SECRET);
    const { result, lines } = await captureLogs(() => post("cybavo-wallets", body, { "X-CHECKSUM": checksum }));
    expect(result.status).toBe(200);
    expect(lines.filter((l) => l.msg === "ingress")).toEqual([
      expect.objectContaining({ source: "cybavo-wallets", outcome: "quarantined", reason: "duplicate key" }),
    ]);
  });
});
