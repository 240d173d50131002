// Writes test/fixtures/verify-cases.json: the contract cases of every registered provider's
// fixtures under each of its signing schemes, signed with Node's crypto by the provider's test
// signer (src/providers/<name>/signer.mjs, independent of the verifiers), for the portable
// verification suite that runs in workerd, Node and Chromium (test/verify/).
// Each case: { provider, name, body, headers, secrets, options, url, now, valid }.
// `npm run verify:cases` after changing fixtures; the cases are committed (the registry test
// fails when a fixture has no cases).
import { writeFileSync } from "node:fs";
import { fixture, fixtureNames, signers } from "./lib/provider-signers.mjs";

const root = new URL("../", import.meta.url);
const NOW = 1_763_800_000_000; // a fixed clock: the cases never go stale
const URL_ = "https://gateway.example/webhooks/source";
const SECRET = "verify-suite-secret";
const WRONG = "not-the-secret";

const withoutHeader = (headers, name) =>
  Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== name.toLowerCase()));
const member = (field, comma) => new RegExp(`${comma ? "," : ""}"${field.replace(/[^\w]/g, "\\$&")}":"[^"]*"`);

const cases = [];
for (const [provider, signer] of signers) {
  for (const scheme of signer.schemes) {
    // A shared secret, unless the scheme signs with a key pair (Coins rsa-sha256).
    const secret = scheme.secret?.(SECRET) ?? SECRET;
    const keys = scheme.keyPair?.() ?? { sign: secret, wrong: WRONG, verifyWith: { secrets: [secret], options: {} } };
    const options = { ...scheme.options, ...keys.verifyWith.options };
    const sign = (callback, key, now = NOW) => {
      const signed = scheme.sign(callback, key, { url: URL_, now, options });
      return { body: signed.body, headers: { "content-type": "application/json", ...signed.headers } };
    };
    const spot = scheme.signature(options);
    for (const name of fixtureNames(provider)) {
      const callback = fixture(provider, name);
      const add = (variant, signed, valid) =>
        cases.push({
          provider,
          url: URL_,
          now: NOW,
          secrets: keys.verifyWith.secrets,
          options,
          name: `${scheme.id}/${name}: ${variant}`,
          body: signed.body,
          headers: signed.headers,
          valid,
        });
      const good = sign(callback, keys.sign);
      add("valid", good, true);
      if (scheme.signsBody)
        add("tampered body", { ...good, body: good.body.replace(/:"(\w)/, (_m, c) => `:"${c === "a" ? "b" : "a"}`) }, false);
      add("wrong secret", sign(callback, keys.wrong), false);
      if ("field" in spot) {
        add("malformed signature", { ...good, body: good.body.replace(member(spot.field, false), `"${spot.field}":"zz"`) }, false);
        add("missing signature", { ...good, body: good.body.replace(member(spot.field, true), "") }, false);
      } else {
        add(
          "malformed signature",
          { ...good, headers: { ...withoutHeader(good.headers, spot.header), [spot.header]: spot.malformed } },
          false,
        );
        add("missing signature", { ...good, headers: withoutHeader(good.headers, spot.header) }, false);
      }
      if (scheme.timestamped) add("stale timestamp", sign(callback, keys.sign, NOW - 3_600_000), false);
    }
  }
}
writeFileSync(new URL("test/fixtures/verify-cases.json", root), `${JSON.stringify(cases, null, 1)}\n`);
console.log(`wrote test/fixtures/verify-cases.json (${cases.length} cases)`);
