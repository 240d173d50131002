// Every registered provider's test signer (src/providers/<name>/signer.mjs, typed by
// src/providers/signer.ts), found through the registry (src/providers/registry.ts), and its
// fixtures, for the Node tools: `npm run send`, the bench and `npm run verify:cases`. Each
// signer is written from the provider's docs with Node's crypto: a second implementation,
// independent of the gateway's WebCrypto verifiers.
import { readdirSync, readFileSync } from "node:fs";
import { importTs } from "./import-ts.mjs";

const root = new URL("../../", import.meta.url);
const { PROVIDER_NAMES } = await importTs("src/providers/registry.ts");

/** Name → signer, in registry order. */
export const signers = new Map(
  await Promise.all(
    PROVIDER_NAMES.map(async (name) => {
      const { signer } = await import(new URL(`src/providers/${name}/signer.mjs`, root).href);
      if (signer?.provider !== name) throw new Error(`src/providers/${name}/signer.mjs exports no \`signer\` for ${name}`);
      return [name, signer];
    }),
  ),
);

const fixtureFolder = (provider) => new URL(`src/providers/${provider}/fixtures/`, root);

/** The names of a provider's fixtures (src/providers/<provider>/fixtures/*.json), sorted. */
export function fixtureNames(provider) {
  return readdirSync(fixtureFolder(provider))
    .filter((file) => file.endsWith(".json"))
    .map((file) => file.replace(/\.json$/, ""))
    .sort();
}

/** A fixture's callback. */
export function fixture(provider, name) {
  return JSON.parse(readFileSync(new URL(`${name}.json`, fixtureFolder(provider)), "utf8"));
}

/** A `SOURCES` entry's provider options (without the common keys). */
export function optionsOf(source) {
  const { provider: _provider, secrets: _secrets, origin: _origin, ipAllowList: _ips, ...options } = source;
  return options;
}

/** The scheme a source signs with: the first of its provider's whose options the source has. */
export function schemeFor(source) {
  return signers
    .get(source.provider)
    ?.schemes.find((scheme) => Object.entries(scheme.options).every(([key, value]) => source[key] === value));
}

/** A callback signed for `source` (posted to `url`) with `key`, as the provider would send it. */
export function signFor(source, callback, key, { url, now = Date.now() }) {
  const signed = schemeFor(source).sign(callback, key, { url, now, options: optionsOf(source) });
  return { body: signed.body, headers: { "content-type": "application/json", ...signed.headers } };
}

/** Gives a callback a new idempotency key, so a fixture can be sent again as a new event. */
export function freshen(provider, callback, seed = Date.now()) {
  return signers.get(provider).freshen(callback, seed);
}
