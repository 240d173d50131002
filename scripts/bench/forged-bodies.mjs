// The attacker's catalogue for "CPU per forged request". Its sources are derived from the
// provider registry (through each provider's test signer, as scripts/bench/fixtures.mjs and
// scripts/send.mjs do): one per signing scheme of every registered provider, so a provider
// added there is measured without an edit here. Every source gets two generic forged cases (a
// genuine fixture with a wrong signature; the same callback well-formed but unsigned). On top,
// keyed by provider name, the hostile bodies (up to the 256 KiB body cap) and headers that make
// a request with a wrong signature cost each verifier the most before it is refused: valid JSON
// with distinct keys at every level, so each verifier reads all of it instead of giving up
// early, and headers of the right format, so verification runs to the cryptographic check.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { fixture, optionsOf, signers } from "../lib/provider-signers.mjs";

/** The gateway's default MAX_BODY_BYTES: a forged body can be at most this large. */
export const BODY_CAP = 256 * 1024;

const encoder = new TextEncoder();
const bytes = (text) => encoder.encode(text).length;
const base36 = (i) => i.toString(36);

/**
 * Cregis reads at most this many top-level members and this many characters of nested values
 * before its signature check: its costliest bodies are the ones right at these limits. Read
 * from src/providers/cregis/verify.ts, which exports them, so the catalogue follows any change.
 */
export const { CREGIS_MAX_MEMBERS, CREGIS_MAX_NESTED_CHARS } = cregisLimits();

function cregisLimits() {
  const source = readFileSync(new URL("../../src/providers/cregis/verify.ts", import.meta.url), "utf8");
  const read = (name) => {
    const match = new RegExp(`export const ${name} = (\\d+)(?: \\* (\\d+))?;`).exec(source);
    if (match === null) throw new Error(`${name} not found in src/providers/cregis/verify.ts`);
    return Number(match[1]) * Number(match[2] ?? 1);
  };
  return { CREGIS_MAX_MEMBERS: read("CREGIS_MAX_MEMBERS"), CREGIS_MAX_NESTED_CHARS: read("CREGIS_MAX_NESTED_CHARS") };
}
const KIB = (n) => `${n / 1024} KiB`;

/**
 * `head` + as many `item(i)` (comma-separated) as fit + `tail`, at most `cap` bytes in all.
 * `head` opens the container the items go into and `tail` closes every open bracket.
 */
function fill(head, item, tail, cap = BODY_CAP) {
  const parts = [head];
  let size = bytes(head) + bytes(tail);
  for (let i = 0; ; i++) {
    const part = (i === 0 ? "" : ",") + item(i);
    const n = bytes(part);
    if (size + n > cap) break;
    parts.push(part);
    size += n;
  }
  parts.push(tail);
  return parts.join("");
}

/** `{` + `prefix` + `members` + a string member `pad` that brings the body to BODY_CAP + `}`. */
function padded(prefix, members) {
  const open = `{${prefix}${members}${members ? "," : ""}"pad":"`;
  return `${open}${"x".repeat(BODY_CAP - bytes(open) - 2)}"}`;
}

/** Members `prefix` (e.g. `"wallet_id":1,`) then generated members, in one top-level object. */
const members = (prefix, item) => fill(`{${prefix}`, item, "}");
/** `{prefix "data": <open items close>}`: one big nested value. */
const nested = (prefix, open, item, close) => fill(`{${prefix}"data":${open}`, item, `${close}}`);

// Depth 0 is the body's object, 1 the `data` value, 2 its items: 62 more levels reach depth 63,
// inside the scanner's limit of 64, so the whole value is read.
const DEEP = 62;

/** Top-level scalar members: what the Cregis signing text sorts and every scanner reads. */
const SCALAR_CASES = {
  "short-keys": { stresses: "~30,000 members with the shortest keys", body: (p) => members(p, (i) => `"${base36(i)}":1`) },
  "string-values": { stresses: "~20,000 members, each a string value to decode", body: (p) => members(p, (i) => `"${base36(i)}":"v"`) },
  "long-common-prefix": {
    stresses: "keys sharing a 200-character prefix: every comparison walks it",
    body: (p) => members(p, (i) => `"${"k".repeat(200)}${base36(i)}":1`),
  },
  "astral-keys": {
    stresses: "keys of characters outside the BMP (surrogate pairs in UTF-16)",
    body: (p) => members(p, (i) => `"${String.fromCodePoint(0x1f600 + (i % 80), 0x10000 + ((i * 7919) % 60000))}${base36(i)}":1`),
  },
  "astral-vs-private-use": {
    stresses: "keys starting with U+E000..U+FFFF or a surrogate pair: where UTF-16 order and UTF-8 byte order disagree",
    body: (p) =>
      members(
        p,
        (i) => `"${i % 2 ? String.fromCodePoint(0x10000 + (i % 60000)) : String.fromCharCode(0xe000 + (i % 8000))}${base36(i)}":1`,
      ),
  },
  "escaped-keys": {
    stresses: "keys written as \\u escapes of surrogate pairs",
    body: (p) => members(p, (i) => `"\\ud83d\\ude00\\ud83d\\ude0${i % 10}${base36(i)}":1`),
  },
  "lone-surrogate-keys": {
    stresses: "keys with unpaired surrogates (UTF-8 encodes them as U+FFFD)",
    body: (p) => members(p, (i) => `"\\ud800${base36(i)}\\udfff":1`),
  },
  "escaped-string": {
    stresses: "one string value of ~43,000 \\u escapes",
    body: (p) => `{${p}"a":"${"\\u0000".repeat(Math.floor((BODY_CAP - bytes(p) - 10) / 6))}"}`,
  },
  "huge-number": {
    stresses: "one number of ~262,000 digits",
    body: (p) => `{${p}"a":${"9".repeat(BODY_CAP - bytes(p) - 8)}}`,
  },
};

/** CYBAVO with per-wallet secrets compares every top-level key with `wallet_id`, escapes decoded. */
const WALLET_CASES = {
  "wallet-id-near-misses": {
    stresses: "~4,000 keys spelling `wallet_id` in \\u escapes, then a suffix: each compared to its end",
    body: (p) =>
      members(p, (i) => `"${[..."wallet_id"].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("")}${base36(i)}":1`),
  },
};

/** One big nested `data` value: what canonical JSON rebuilds and every scanner recurses into. */
const NESTED_CASES = {
  "nested-wide-object": { stresses: "`data` with ~30,000 keys to sort", body: (p) => nested(p, "{", (i) => `"${base36(i)}":1`, "}") },
  "nested-deep-arrays": {
    stresses: `\`data\` of members nested ${DEEP} arrays deep (the depth limit)`,
    body: (p) => nested(p, "{", (i) => `"${base36(i)}":${"[".repeat(DEEP)}${"]".repeat(DEEP)}`, "}"),
  },
  "nested-deep-objects": {
    stresses: `\`data\` of members nested ${DEEP} objects deep`,
    body: (p) => nested(p, "{", (i) => `"${base36(i)}":${'{"a":'.repeat(DEEP - 1)}{}${"}".repeat(DEEP - 1)}`, "}"),
  },
  "nested-number-array": { stresses: "`data` an array of ~130,000 numbers", body: (p) => nested(p, "[", () => "1", "]") },
  "nested-small-objects": {
    stresses: "`data` an array of ~17,000 two-key objects, each to sort",
    body: (p) => nested(p, "[", (i) => `{"b":${i % 10},"a":1}`, "]"),
  },
  "nested-huge-number": {
    stresses: "`data` one number of ~262,000 digits, parsed to a double",
    body: (p) => nested(p, "[", () => "9".repeat(BODY_CAP - bytes(p) - 20), "]"),
  },
  "nested-escaped-strings": {
    stresses: "`data` an array of strings of escapes to decode and re-escape",
    body: (p) => nested(p, "[", () => '"\\u0001\\u0002\\u0003"', "]"),
  },
};

/**
 * Cregis bodies right at its limits: the most members it reads, each with a long key, and the
 * most nested text it writes as canonical JSON, the rest of the body a string it signs.
 */
const longKeys = (prefix, unitBytes, suffix) => {
  // CREGIS_MAX_MEMBERS members in all, `sign` one of them: keys sharing a long prefix, so every
  // comparison of the sort walks it, as long as BODY_CAP allows.
  const n = CREGIS_MAX_MEMBERS - 1;
  const length = Math.floor((BODY_CAP - 64) / n / unitBytes) - 8;
  return (p) => `{${p}${Array.from({ length: n }, (_, i) => `"${prefix.repeat(length)}${suffix(i)}":1`).join(",")}}`;
};
const CREGIS_LIMIT_CASES = {
  "limit-members-long-keys": {
    stresses: `${CREGIS_MAX_MEMBERS} members (the limit) whose keys share a prefix of ~1,000 ASCII characters`,
    body: longKeys("k", 1, (i) => base36(i)),
  },
  "limit-members-long-astral-keys": {
    stresses: `${CREGIS_MAX_MEMBERS} members whose keys share a prefix of ~250 characters outside the BMP`,
    body: longKeys("\u{1f600}", 4, (i) => String.fromCodePoint(0x10000 + i)),
  },
  "limit-members-private-use-keys": {
    stresses: `${CREGIS_MAX_MEMBERS} members whose keys share a prefix of ~330 characters in U+E000..U+FFFF`,
    body: longKeys("\ue000", 3, (i) => String.fromCharCode(0xe000 + i)),
  },
};
const nestedAtLimit = (open, item, close) => (p) =>
  padded(p, fill(`"data":${open}`, item, close, CREGIS_MAX_NESTED_CHARS + bytes('"data":')));
const CREGIS_NESTED_LIMIT_CASES = {
  "limit-nested-wide-object": {
    stresses: `\`data\` of ${KIB(CREGIS_MAX_NESTED_CHARS)} (the limit), an object of as many keys as fit, to sort; the rest a signed string`,
    body: nestedAtLimit("{", (i) => `"${base36(i)}":1`, "}"),
  },
  "limit-nested-deep-arrays": {
    stresses: `\`data\` of ${KIB(CREGIS_MAX_NESTED_CHARS)} of members nested ${DEEP} arrays deep; the rest a signed string`,
    body: nestedAtLimit("{", (i) => `"${base36(i)}":${"[".repeat(DEEP)}${"]".repeat(DEEP)}`, "}"),
  },
  "limit-nested-deep-objects": {
    stresses: `\`data\` of ${KIB(CREGIS_MAX_NESTED_CHARS)} of members nested ${DEEP} objects deep; the rest a signed string`,
    body: nestedAtLimit("{", (i) => `"${base36(i)}":${'{"a":'.repeat(DEEP - 1)}{}${"}".repeat(DEEP - 1)}`, "}"),
  },
  "limit-nested-number-array": {
    stresses: `\`data\` of ${KIB(CREGIS_MAX_NESTED_CHARS)}: an array of one-digit numbers; the rest a signed string`,
    body: nestedAtLimit("[", (i) => String(i % 10), "]"),
  },
  "limit-nested-float-array": {
    stresses: `\`data\` of ${KIB(CREGIS_MAX_NESTED_CHARS)}: an array of \`1.0\`, each re-printed as JavaScript prints it; the rest a signed string`,
    body: nestedAtLimit("[", () => "1.0", "]"),
  },
  "limit-nested-small-objects": {
    stresses: `\`data\` of ${KIB(CREGIS_MAX_NESTED_CHARS)}: an array of two-key objects to sort; the rest a signed string`,
    body: nestedAtLimit("[", (i) => `{"b":${i % 10},"a":1}`, "]"),
  },
  "limit-nested-escaped-strings": {
    stresses: `\`data\` of ${KIB(CREGIS_MAX_NESTED_CHARS)}: an array of \`"\\n"\` strings to decode and re-escape; the rest a signed string`,
    body: nestedAtLimit("[", () => '"\\n"', "]"),
  },
};

const PAD = { stresses: "a body at the size cap (hashed in full)", body: () => `{"pad":"${"x".repeat(BODY_CAP - 10)}"}` };

/**
 * Cloudflare accepts 128 KB of request headers in all: a signature header of 96 KB of valid
 * Base64 is decoded (and re-encoded, to refuse non-canonical Base64) before its length is checked.
 */
export const LONG_HEADER_BYTES = 96 * 1024;
const longHeader = (header, urlSafe = false) => ({
  stresses: `a ${LONG_HEADER_BYTES / 1024} KB signature header of valid Base64, and a body at the cap`,
  body: PAD.body,
  headers: () => {
    const value = Buffer.alloc((LONG_HEADER_BYTES / 4) * 3, 7).toString("base64");
    return { [header]: urlSafe ? value.replaceAll("+", "-").replaceAll("/", "_") : value };
  },
});

const hex = (n) => "0".repeat(n);
const now = () => Date.now();

// --------------------------------------------------------------------------------------------
// Sources: one per signing scheme of every registered provider, plus the option variants the
// hostile bodies below need

const WRONG = "not-the-secret";
/** The URL the generic cases are signed for; a wrong signature is wrong whatever the URL. */
const SIGNED_URL = (source) => `https://gateway.bench/webhooks/${source}`;
const binding = (name) => `BENCH_FORGED_${name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_SECRET`;
/** CYBAVO's per-wallet variant: wallet 1 has a secret of its own. */
const CYBAVO_WALLET_BINDING = binding("cybavo-wallet");

/**
 * Each scheme of each registered provider (src/providers/registry.ts, through the signers):
 * its source is named by the scheme's id (the provider's name, or e.g. `coins-hmac`) and has one
 * secret, or the verifying key of a key-pair scheme.
 */
function schemeSources() {
  const out = new Map();
  for (const [provider, signer] of signers) {
    for (const scheme of signer.schemes) {
      const text = `bench-${scheme.id}-secret`;
      const secret = scheme.secret?.(text) ?? text;
      const keys = scheme.keyPair?.() ?? { sign: secret, wrong: WRONG, verifyWith: { secrets: [secret], options: {} } };
      const secrets = Object.fromEntries(
        keys.verifyWith.secrets.map((value, i) => [binding(i === 0 ? scheme.id : `${scheme.id}-${i}`), value]),
      );
      const options = { ...scheme.options, ...keys.verifyWith.options };
      out.set(scheme.id, {
        provider,
        scheme,
        keys,
        variant: Object.values(scheme.options).join(", "),
        secrets,
        config: { provider, ...options, ...(Object.keys(secrets).length > 0 && { secrets: Object.keys(secrets) }) },
      });
    }
  }
  return out;
}

// --------------------------------------------------------------------------------------------
// Hostile bodies, keyed by provider name: for each, the source they go to (a scheme's own, by
// its id, or a `variant` of a scheme with more options), the bodies, the prefix each body
// starts with, and headers of the right shape with wrong values, so each verifier reaches its
// hash, MAC or RSA check.

const checksum = () => ({ "x-checksum": `${"A".repeat(43)}=` });
const cregisSign = `"sign":"${hex(32)}",`;

const HOSTILE = {
  cybavo: [
    {
      source: "cybavo",
      variant: "one secret",
      cases: { "max-body": PAD, "long-signature-header": longHeader("x-checksum", true) },
      headers: checksum,
    },
    {
      source: "cybavo-wallets",
      scheme: "cybavo",
      variant: "per-wallet secrets",
      options: { walletSecrets: { 1: [CYBAVO_WALLET_BINDING] } },
      secrets: { [CYBAVO_WALLET_BINDING]: "bench-cybavo-wallet-secret" },
      cases: { ...SCALAR_CASES, ...WALLET_CASES, ...NESTED_CASES },
      prefix: '"wallet_id":1,',
      headers: checksum,
    },
  ],
  cregis: [
    // Bodies over Cregis' limits are refused after reading up to the limit; bodies right at
    // them are read in full, sorted, written and hashed.
    {
      source: "cregis",
      variant: "nestedValues reject",
      cases: { ...SCALAR_CASES, ...CREGIS_LIMIT_CASES },
      prefix: cregisSign,
      headers: () => ({}),
    },
    // Scalar members take the same path under both options, so they are measured once (above).
    {
      source: "cregis-canonical",
      scheme: "cregis",
      variant: "nestedValues canonical-json",
      options: { nestedValues: "canonical-json" },
      cases: { ...NESTED_CASES, ...CREGIS_NESTED_LIMIT_CASES },
      prefix: cregisSign,
      headers: () => ({}),
    },
  ],
  killb: [{ source: "killb", cases: { "max-body": PAD }, headers: () => ({ "x-signature-sha256": hex(64) }) }],
  cabital: [
    {
      source: "cabital",
      cases: { "max-body": PAD, "long-signature-header": longHeader("ACCESS-SIGN") },
      headers: () => ({
        "ACCESS-KEY": "bench-partner",
        "ACCESS-TIMESTAMP": String(Math.floor(now() / 1000)),
        "ACCESS-NONCE": randomUUID(),
        "ACCESS-SIGN": Buffer.alloc(32).toString("base64"),
      }),
    },
  ],
  coins: [
    {
      source: "coins-rsa",
      cases: { "max-body": PAD, "long-signature-header": longHeader("x-signature") },
      headers: () => ({ "x-signature": Buffer.alloc(256, 1).toString("base64") }),
    },
    {
      source: "coins-hmac",
      cases: { "max-body": PAD },
      headers: () => ({ "X-Merchant-Key": "bench-merchant", "X-Timestamp": String(now()), "X-Merchant-Sign": hex(64) }),
    },
    { source: "coins-token", cases: { "max-body": PAD }, headers: () => ({ authorization: "Token not-the-token" }) },
  ],
  "standard-webhooks": [
    {
      source: "standard-webhooks",
      cases: { "max-body": PAD },
      headers: () => ({
        "webhook-id": `msg_${randomUUID()}`,
        "webhook-timestamp": String(Math.floor(now() / 1000)),
        "webhook-signature": `v1,${Buffer.alloc(32).toString("base64")}`,
      }),
    },
  ],
};

// --------------------------------------------------------------------------------------------
// The catalogue

const withoutHeader = (headers, name) =>
  Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== name.toLowerCase()));
const member = (field) => new RegExp(`,?"${field.replace(/[^\w]/g, "\\$&")}":"[^"]*"`);

/**
 * The two cases every source gets, whatever its provider: its provider's bench fixture (a
 * genuine callback) signed with a wrong key, and the same callback signed with the right key
 * and its signature taken out (header or body member): well-formed but unsigned. Headers are
 * made at each send, so a timestamped scheme's time is always fresh.
 */
function genericCases(name, source) {
  const { provider, scheme, keys } = source;
  const fixtureName = signers.get(provider).benchFixture;
  const callback = fixture(provider, fixtureName);
  const options = optionsOf(source.config);
  const sign = (key) => scheme.sign(callback, key, { url: SIGNED_URL(name), now: now(), options });
  const spot = scheme.signature(options);
  const stable = (make) => {
    const first = make();
    return {
      body: first.body,
      headers: () => {
        const signed = make();
        // The body is what was measured: a scheme that signed a time into it would change it.
        if (signed.body !== first.body) throw new Error(`${name}: the signed body changes between sends`);
        return signed.headers;
      },
    };
  };
  const unsigned = () => {
    const signed = sign(keys.sign);
    return "field" in spot
      ? { body: signed.body.replace(member(spot.field), ""), headers: signed.headers }
      : { body: signed.body, headers: withoutHeader(signed.headers, spot.header) };
  };
  const where = "field" in spot ? `its \`${spot.field}\` member` : `its \`${spot.header}\` header`;
  return {
    "wrong-signature": { stresses: `the ${fixtureName} fixture signed with a wrong key`, ...stable(() => sign(keys.wrong)) },
    unsigned: { stresses: `the ${fixtureName} fixture signed, then ${where} taken out`, ...stable(unsigned) },
  };
}

/**
 * The forged-request catalogue: `{ secrets, sources, requests }`. `sources` and `secrets` are
 * what the measured gateway runs with (`SOURCES` and its secret bindings); `requests` holds one
 * entry per (source, case): `{ source, provider, variant, name, stresses, body, headers() }`,
 * `headers()` made when called (a fresh timestamp where the scheme has one: a stale one would
 * be refused before the MAC is computed). Every source gets the generic cases; the hostile
 * bodies of its provider follow.
 */
export function forgedCatalogue() {
  const schemes = schemeSources();
  for (const provider of Object.keys(HOSTILE)) {
    if (!signers.has(provider)) throw new Error(`forged-bodies: hostile bodies for ${provider}, which is not a registered provider`);
  }
  const sources = new Map();
  for (const [provider] of signers) {
    for (const [name, source] of schemes) if (source.provider === provider) sources.set(name, source);
    for (const entry of HOSTILE[provider] ?? []) {
      const base = schemes.get(entry.scheme ?? entry.source);
      if (base === undefined || base.provider !== provider) {
        throw new Error(`forged-bodies: ${entry.source} names no signing scheme of ${provider}`);
      }
      // Bodies for a scheme's own source may name what that source is (CYBAVO: "one secret").
      if (entry.scheme === undefined) {
        if (entry.variant !== undefined) base.variant = entry.variant;
        continue;
      }
      sources.set(entry.source, {
        ...base,
        variant: entry.variant,
        secrets: { ...base.secrets, ...entry.secrets },
        config: { ...base.config, ...entry.options },
      });
    }
  }

  const requests = [];
  const add = (name, caseName, stresses, body, headers) => {
    const source = sources.get(name);
    const { provider, variant } = source;
    requests.push({
      source: name,
      provider,
      variant,
      name: caseName,
      stresses,
      body,
      headers: () => ({ "content-type": "application/json", ...headers() }),
    });
  };
  for (const [name, source] of sources) {
    for (const [caseName, c] of Object.entries(genericCases(name, source))) add(name, caseName, c.stresses, c.body, c.headers);
    for (const entry of HOSTILE[source.provider] ?? []) {
      if (entry.source !== name) continue;
      for (const [caseName, c] of Object.entries(entry.cases)) {
        const body = c.body(entry.prefix ?? "");
        check(name, caseName, body);
        add(name, caseName, c.stresses, body, () => ({ ...entry.headers(), ...c.headers?.() }));
      }
    }
  }
  return {
    secrets: Object.assign({}, ...[...sources.values()].map((s) => s.secrets)),
    sources: Object.fromEntries([...sources].map(([name, s]) => [name, s.config])),
    requests,
  };
}

/** A case only measures what it claims if the whole body is read: valid JSON, no repeated key, within the cap. */
function check(source, name, body) {
  const size = bytes(body);
  if (size > BODY_CAP) throw new Error(`${source}/${name}: ${size} bytes is over the cap`);
  // Every key in the catalogue is followed directly by a colon; no string value contains one.
  const written = [...body.matchAll(/"(?:[^"\\]|\\.)*":/g)].length;
  const distinct = countKeys(JSON.parse(body));
  if (distinct !== written) throw new Error(`${source}/${name}: repeated keys (${distinct} distinct of ${written} written)`);
}

function countKeys(value) {
  if (Array.isArray(value)) return value.reduce((n, v) => n + countKeys(v), 0);
  if (value !== null && typeof value === "object") return Object.entries(value).reduce((n, [, v]) => n + 1 + countKeys(v), 0);
  return 0;
}
