// Writes docs/vectors/standard-webhooks-v1a.json: published test vectors for the gateway's
// Standard Webhooks `v1a` (Ed25519) signatures, made from fixed seeds with Node's `crypto` only
// (never with the gateway's own signer, so the tests that check the gateway against them compare
// two implementations). `node scripts/v1a-vectors.mjs` rewrites the file; `--check` exits 1 when
// the file differs from what the script makes (test/node/verify-v1a.test.ts runs the same check).
// Ed25519 is deterministic (RFC 8032): the same seed, id, timestamp and body give the same bytes.
import { execFileSync } from "node:child_process";
import { createHash, createHmac, createPrivateKey, createPublicKey, sign } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const VECTORS_FILE = fileURLToPath(new URL("../docs/vectors/standard-webhooks-v1a.json", import.meta.url));

/** An Ed25519 private key in PKCS#8 DER: this 16-byte header, then the 32-byte seed (RFC 8410). */
const PKCS8_HEADER = Buffer.from("302e020100300506032b657004220420", "hex");

/** A fixed, public seed: SHA-256 of a label. Example keys only, never for real use. */
function seedOf(label) {
  return createHash("sha256").update(`webhook-gateway v1a test vector seed: ${label}`).digest();
}

function keyPair(label) {
  const seed = seedOf(label);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_HEADER, seed]), format: "der", type: "pkcs8" });
  const publicRaw = Buffer.from(createPublicKey(privateKey).export({ format: "jwk" }).x, "base64url");
  return {
    privateKey,
    json: {
      signingKey: `whsk_${Buffer.concat([seed, publicRaw]).toString("base64")}`,
      seedOnly: `whsk_${seed.toString("base64")}`,
      publicKey: `whpk_${publicRaw.toString("base64")}`,
    },
  };
}

const v1a = (pair, id, timestamp, body) =>
  `v1a,${sign(null, Buffer.from(`${id}.${timestamp}.${body}`), pair.privateKey).toString("base64")}`;
const v1 = (secret, id, timestamp, body) =>
  `v1,${createHmac("sha256", Buffer.from(secret.slice("whsec_".length), "base64"))
    .update(`${id}.${timestamp}.${body}`)
    .digest("base64")}`;

/** The vectors, as an object (the file is its JSON, two-space indented, with a final newline). */
export function makeVectors() {
  const current = keyPair("current");
  const previous = keyPair("previous");
  const other = keyPair("other");
  const secret = `whsec_${seedOf("hmac").subarray(0, 24).toString("base64")}`;
  const id = "evt_2KWPBgLlAfxdpx2AI54pPJ85f4W";
  const timestamp = 1_767_225_600; // 2026-01-01T00:00:00Z
  const body = '{"specversion":"1.0","id":"evt_2KWPBgLlAfxdpx2AI54pPJ85f4W","type":"payment.updated","data":{"amount":"10.00"}}';
  const unicode = '{"specversion":"1.0","data":{"name":"Zoë Ærøskøbing ✓ 支払い"}}';
  const one = v1a(current, id, timestamp, body);

  const valid = [
    { name: "one v1a key", id, timestamp, body, signingKeys: ["current"], secrets: [], signature: one },
    {
      name: "the 32-byte seed form signs the same bytes",
      id,
      timestamp,
      body,
      signingKeys: ["current:seedOnly"],
      secrets: [],
      signature: one,
    },
    {
      name: "rotation: two v1a keys, newest first",
      id,
      timestamp,
      body,
      signingKeys: ["current", "previous"],
      secrets: [],
      signature: `${one} ${v1a(previous, id, timestamp, body)}`,
    },
    {
      name: "v1 and v1a together: v1 entries first",
      id,
      timestamp,
      body,
      signingKeys: ["current"],
      secrets: ["hmac"],
      signature: `${v1(secret, id, timestamp, body)} ${one}`,
    },
    {
      name: "a UTF-8 body is signed as its bytes",
      id: "msg_unicode",
      timestamp,
      body: unicode,
      signingKeys: ["current"],
      secrets: [],
      signature: v1a(current, "msg_unicode", timestamp, unicode),
    },
  ];

  const at = timestamp * 1000;
  const invalid = [
    {
      name: "tampered body",
      body: body.replace("10.00", "99.00"),
      signature: one,
      publicKeys: ["current"],
      now: at,
      reason: "bad_signature",
    },
    { name: "wrong public key", body, signature: one, publicKeys: ["other"], now: at, reason: "bad_signature" },
    { name: "stale timestamp (301 s late)", body, signature: one, publicKeys: ["current"], now: at + 301_000, reason: "stale_timestamp" },
    {
      name: "timestamp from the future (301 s early)",
      body,
      signature: one,
      publicKeys: ["current"],
      now: at - 301_000,
      reason: "stale_timestamp",
    },
    { name: "malformed entry: not base64", body, signature: "v1a,%%%", publicKeys: ["current"], now: at, reason: "malformed_signature" },
    {
      name: "malformed entry: 63 bytes",
      body,
      signature: `v1a,${Buffer.alloc(63, 7).toString("base64")}`,
      publicKeys: ["current"],
      now: at,
      reason: "malformed_signature",
    },
    {
      name: "malformed entry: no version tag",
      body,
      signature: one.slice("v1a,".length),
      publicKeys: ["current"],
      now: at,
      reason: "malformed_signature",
    },
    {
      name: "a v1a entry under a v1-only verifier is skipped, not checked as v1",
      body,
      signature: one,
      secrets: ["hmac"],
      now: at,
      reason: "malformed_signature",
    },
    {
      name: "a v1 entry under a v1a-only verifier is skipped",
      body,
      signature: v1(secret, id, timestamp, body),
      publicKeys: ["current"],
      now: at,
      reason: "malformed_signature",
    },
    {
      name: "a v1a signature relabelled v2 is not read",
      body,
      signature: one.replace("v1a,", "v2a,"),
      publicKeys: ["current"],
      now: at,
      reason: "malformed_signature",
    },
  ].map((c) => ({ id, timestamp, secrets: [], publicKeys: [], ...c }));

  return {
    description:
      "Standard Webhooks v1a (Ed25519) test vectors from webhook-gateway, generated by scripts/v1a-vectors.mjs with Node's crypto from fixed public seeds. Example keys: never use them for real.",
    scheme: {
      signedText: "webhook-id, '.', webhook-timestamp, '.', the raw body: as UTF-8 bytes",
      signature: "pure Ed25519 (RFC 8032), 64 bytes, standard base64 with padding, after `v1a,`",
      signingKey:
        "`whsk_` + standard base64 of the 64-byte secret key (32-byte seed, then the 32-byte public key), as Svix writes it; the 32-byte seed alone (seedOnly) is accepted too",
      publicKey: "`whpk_` + standard base64 of the 32-byte public key",
      header: "`webhook-signature`: entries separated by one space, v1 entries first, then v1a, each kind newest key first",
      toleranceSeconds: 300,
    },
    keys: { current: current.json, previous: previous.json, other: other.json },
    secrets: { hmac: secret },
    valid,
    invalid,
  };
}

/** Whether the file holds exactly the vectors the script makes (compared as JSON: the file is laid out by the repository's formatter). */
export function vectorsUpToDate() {
  return JSON.stringify(JSON.parse(readFileSync(VECTORS_FILE, "utf8"))) === JSON.stringify(makeVectors());
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes("--check")) {
    const same = vectorsUpToDate();
    console.log(
      same ? "v1a vectors: up to date" : "v1a vectors: docs/vectors/standard-webhooks-v1a.json differs; run node scripts/v1a-vectors.mjs",
    );
    process.exit(same ? 0 : 1);
  }
  writeFileSync(VECTORS_FILE, `${JSON.stringify(makeVectors(), null, 2)}\n`);
  // Laid out as `npm run lint` expects it.
  const biome = fileURLToPath(new URL("../node_modules/@biomejs/biome/bin/biome", import.meta.url));
  execFileSync(process.execPath, [biome, "format", "--write", VECTORS_FILE], { stdio: "inherit" });
  console.log(`v1a vectors: wrote ${VECTORS_FILE}`);
}
