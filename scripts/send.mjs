// Signs a fixture callback exactly as the provider would and posts it to the local gateway.
//   npm run send -- <source> <fixture> [--fresh] [--url http://127.0.0.1:8787]
// <source> is a key of SOURCES in .dev.vars; <fixture> a file in src/providers/<provider>/fixtures/.
// --fresh gives the callback a new idempotency key (otherwise a re-send is a duplicate: acked,
// not forwarded again). Providers, signers and fixtures come from the registry
// (src/providers/registry.ts) and each provider's folder.
import { parseArgs } from "node:util";
import { readDevVars } from "./lib/dev-vars.mjs";
import { fixture, fixtureNames, freshen, schemeFor, signers, signFor } from "./lib/provider-signers.mjs";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { fresh: { type: "boolean", default: false }, url: { type: "string", default: "http://127.0.0.1:8787" } },
});
const [sourceName, fixtureName] = positionals;
const vars = readDevVars();

function fail(message) {
  console.error(message);
  process.exit(1);
}

const source = vars.SOURCES[sourceName];
if (!source) fail(`usage: npm run send -- <source> <fixture> [--fresh]\nsources: ${Object.keys(vars.SOURCES).join(", ")}`);
if (!signers.has(source.provider)) fail(`${source.provider} is not a registered provider: ${[...signers.keys()].join(", ")}`);
const scheme = schemeFor(source);
// A key-pair scheme (Coins rsa-sha256) signs with the provider's private key, which .dev.vars never holds.
if (!scheme || scheme.keyPair)
  fail(`no signer for ${source.provider} sources like ${sourceName} (a key-pair scheme needs the provider's private key)`);
const fixtures = fixtureNames(source.provider);
if (!fixtureName || !fixtures.includes(fixtureName)) fail(`fixtures for ${source.provider}: ${fixtures.join(", ")}`);
const secret = vars[source.secrets?.[0]];
if (!secret) fail(`secret binding ${source.secrets?.[0]} is not set in .dev.vars`);

let callback = fixture(source.provider, fixtureName);
if (values.fresh) callback = freshen(source.provider, callback);
const url = `${values.url}/webhooks/${sourceName}`;
const { body, headers } = signFor(source, callback, secret, { url });
let response;
try {
  response = await fetch(url, { method: "POST", headers, body });
} catch (err) {
  fail(`could not reach ${url} (${err.cause?.code ?? err.message}): is \`npm start\` running?`);
}
console.log(`POST ${url} (${source.provider}/${fixtureName}) → ${response.status} ${await response.text()}`);
process.exit(response.ok ? 0 : 1);
