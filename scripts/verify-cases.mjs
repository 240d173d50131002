// Writes test/fixtures/verify-cases.json: the contract cases of every provider fixture, signed
// with Node's crypto by scripts/lib/provider-signers.mjs (independent of src/verify), for the
// portable verification suite that runs in workerd, Node and Chromium (test/verify/).
// Each case: { provider, name, body, headers, secrets, options, url, now, valid }.
// `npm run verify:cases` after changing fixtures; the cases are committed.
import { createSign, generateKeyPairSync } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { signCabital, signCoinsHmac, signCregis, signCybavo, signKillb } from "./lib/provider-signers.mjs";

const root = new URL("../", import.meta.url);
const NOW = 1_763_800_000_000; // a fixed clock: the cases never go stale
const URL_ = "https://gateway.example/webhooks/source";
const SECRET = "verify-suite-secret";
const WRONG = "not-the-secret";

// A key pair made for these cases; the private key is not kept.
const rsa = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  publicKeyEncoding: { type: "spki", format: "pem" },
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
});
const other = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});
const rsaSign = (body, key) => createSign("RSA-SHA256").update(body).sign(key, "base64");

/** Per provider: how to sign, which header to break, and the options the verifier needs. */
const schemes = {
  cybavo: { sign: (cb, secret) => signCybavo(cb, secret), header: "X-CHECKSUM", options: {} },
  cregis: { sign: (cb, secret) => signCregis(cb, secret), inBody: true, options: {} },
  killb: { sign: (cb, secret) => signKillb(cb, secret), header: "x-signature-sha256", options: {} },
  cabital: { sign: (cb, secret, now) => signCabital(cb, secret, { url: URL_, now }), header: "ACCESS-SIGN", stale: true, options: {} },
  "coins-hmac": {
    provider: "coins",
    sign: (cb, secret, now) => signCoinsHmac(cb, secret, { url: URL_, now }),
    header: "X-Merchant-Sign",
    stale: true,
    options: { scheme: "hmac-sha256" },
  },
  "coins-rsa": {
    provider: "coins",
    sign: (cb, secret) => {
      const body = JSON.stringify(cb);
      return {
        body,
        headers: { "content-type": "application/json", "X-Signature": rsaSign(body, secret === WRONG ? other.privateKey : rsa.privateKey) },
      };
    },
    header: "X-Signature",
    noSecrets: true,
    options: { scheme: "rsa-sha256", publicKey: rsa.publicKey },
  },
  "coins-token": {
    provider: "coins",
    sign: (cb, secret) => ({ body: JSON.stringify(cb), headers: { "content-type": "application/json", Authorization: `Token ${secret}` } }),
    header: "Authorization",
    bodyUnsigned: true,
    options: { scheme: "token" },
  },
};

const cases = [];
for (const [name, scheme] of Object.entries(schemes)) {
  const provider = scheme.provider ?? name;
  const folder = new URL(`src/providers/${provider}/fixtures/`, root);
  for (const file of readdirSync(folder).sort()) {
    const callback = JSON.parse(readFileSync(new URL(file, folder), "utf8"));
    const base = { provider, url: URL_, now: NOW, secrets: scheme.noSecrets ? [] : [SECRET], options: scheme.options };
    const add = (variant, signed, valid) =>
      cases.push({
        ...base,
        name: `${name}/${file.replace(/\.json$/, "")}: ${variant}`,
        body: signed.body,
        headers: signed.headers,
        valid,
      });
    const good = scheme.sign(callback, SECRET, NOW);
    add("valid", good, true);
    if (!scheme.bodyUnsigned)
      add("tampered body", { ...good, body: good.body.replace(/:"(\w)/, (_m, c) => `:"${c === "a" ? "b" : "a"}`) }, false);
    add("wrong secret", scheme.sign(callback, WRONG, NOW), false);
    if (scheme.inBody) {
      add("malformed signature", { ...good, body: good.body.replace(/"sign":"[0-9a-f]{32}"/, '"sign":"zz"') }, false);
      add("missing signature", { ...good, body: good.body.replace(/,"sign":"[0-9a-f]{32}"/, "") }, false);
    } else {
      add("malformed signature", { ...good, headers: { ...good.headers, [scheme.header]: "%%%" } }, false);
      const { [scheme.header]: _gone, ...rest } = good.headers;
      add("missing signature", { ...good, headers: rest }, false);
    }
    if (scheme.stale) add("stale timestamp", scheme.sign(callback, SECRET, NOW - 3_600_000), false);
  }
}
writeFileSync(new URL("test/fixtures/verify-cases.json", root), `${JSON.stringify(cases, null, 1)}\n`);
console.log(`wrote test/fixtures/verify-cases.json (${cases.length} cases)`);
