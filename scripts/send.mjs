// Signs a fixture callback exactly as the provider would and posts it to the local gateway.
//   npm run send -- <source> <fixture> [--fresh] [--url http://127.0.0.1:8787]
// <source> is a key of SOURCES in .dev.vars; <fixture> a file in test/fixtures/<provider>/.
// --fresh gives the callback a new idempotency key (otherwise a re-send is a duplicate: acked,
// not forwarded again).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { readDevVars, root } from "./lib/dev-vars.mjs";
import { freshen, signerFor } from "./lib/provider-signers.mjs";

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
const sign = signerFor(source);
if (!sign) fail(`no signer for ${source.provider} sources like ${sourceName} (Coins: only the hmac-sha256 scheme)`);
const folder = new URL(`src/providers/${source.provider}/fixtures/`, root);
const fixtures = readdirSync(folder).map((f) => f.replace(/\.json$/, ""));
const file = new URL(`${fixtureName}.json`, folder);
if (!fixtureName || !existsSync(file)) fail(`fixtures for ${source.provider}: ${fixtures.join(", ")}`);
const secret = vars[source.secrets?.[0]];
if (!secret) fail(`secret binding ${source.secrets?.[0]} is not set in .dev.vars`);

let callback = JSON.parse(readFileSync(file, "utf8"));
if (values.fresh) callback = freshen(source.provider, callback);
const url = `${values.url}/webhooks/${sourceName}`;
const { body, headers } = sign(callback, secret, { url });
let response;
try {
  response = await fetch(url, { method: "POST", headers, body });
} catch (err) {
  fail(`could not reach ${url} (${err.cause?.code ?? err.message}): is \`npm start\` running?`);
}
console.log(`POST ${url} (${source.provider}/${fixtureName}) → ${response.status} ${await response.text()}`);
process.exit(response.ok ? 0 : 1);
