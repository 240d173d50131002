// Signed requests for the benchmarks, made with every registered provider's test signer (Node
// crypto; src/providers/<name>/signer.mjs), and the configuration the benchmarked gateway runs
// with: one source per provider, named after it, on its first signing scheme. Secrets here are
// benchmark-only values.
import { fixture, freshen, schemeFor, signers, signFor } from "../lib/provider-signers.mjs";

const binding = (provider) => `BENCH_${provider.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_SECRET`;

export const SECRETS = {
  ...Object.fromEntries(
    [...signers].map(([provider, signer]) => {
      const secret = `bench-${provider}-secret`;
      return [binding(provider), signer.schemes[0].secret?.(secret) ?? secret];
    }),
  ),
  ORIGIN_SECRET: "whsec_YmVuY2gtb3JpZ2luLXNlY3JldC1mb3ItYmVuY2htYXJrcw==",
  ADMIN_TOKEN: "bench-admin-token-0123456789",
};
/**
 * The gateway's Durable Object bindings, as wrangler.toml declares them: the account ledgers,
 * the bulk jobs, and the destinations (the delivery ceiling and breaker each outbox run asks
 * once, src/destination/). A gateway started without DESTINATIONS would hold every event.
 */
export const DURABLE_OBJECTS = {
  LEDGER: { className: "AccountLedger", useSQLite: true },
  JOBS: { className: "BulkJob", useSQLite: true },
  DESTINATIONS: { className: "Destination", useSQLite: true },
};
/**
 * The delivery ceiling (DESTINATION_MAX_PER_SECOND, default 100/s per destination) for every
 * section but 9: they measure the gateway's own capacity, and the ceiling is an operator's
 * setting for the origin's sake, high enough here never to be what limits a run. Section 9
 * (scripts/bench/protection.mjs) measures the ceiling itself, at its own setting.
 */
export const UNCAPPED = { DESTINATION_MAX_PER_SECOND: "100000" };
export const SOURCES = Object.fromEntries(
  [...signers].map(([provider, signer]) => [provider, { provider, ...signer.schemes[0].options, secrets: [binding(provider)] }]),
);
export const PROVIDERS = Object.keys(SOURCES);

function base(provider) {
  return fixture(provider, signers.get(provider).benchFixture);
}

function sign(provider, callback, url, secret = SECRETS[binding(provider)]) {
  return signFor(SOURCES[provider], callback, secret, { url, now: Date.now() });
}

let seed = Date.now();
/**
 * `count` signed requests for `provider` at `url`:
 * kind "new": every one a new event; "duplicate": one event over and over (a single-use
 * signature, Cabital's nonce, signed afresh each time, as a provider retry is); "forged": signed
 * with a wrong secret. Events are spread round-robin over `accounts` accounts, numbered from
 * `firstAccount`.
 */
export function requests(provider, url, kind, count, accounts = 100, firstAccount = 1) {
  const signer = signers.get(provider);
  const singleUse = schemeFor(SOURCES[provider]).singleUse;
  const out = [];
  const one = freshen(provider, signer.onAccount(base(provider), 1), ++seed);
  for (let i = 0; i < count; i++) {
    if (kind === "duplicate") {
      out.push(singleUse || i === 0 || out.length === 0 ? sign(provider, one, url) : out[0]);
    } else {
      const callback = freshen(provider, signer.onAccount(base(provider), (i % accounts) + firstAccount), ++seed);
      out.push(sign(provider, callback, url, kind === "forged" ? "not-the-secret" : undefined));
    }
  }
  return out;
}
