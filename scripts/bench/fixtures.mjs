// Signed requests for the benchmarks, made with the provider-side signers (Node crypto), and
// the configuration the benchmarked gateway runs with. Secrets here are benchmark-only values.
import { readFileSync } from "node:fs";
import { freshen, signCabital, signCoinsHmac, signCregis, signCybavo, signKillb } from "../lib/provider-signers.mjs";

const root = new URL("../../", import.meta.url);
export const SECRETS = {
  CYBAVO_API_SECRET: "bench-cybavo-secret",
  CREGIS_API_KEY: "bench-cregis-key",
  KILLB_WEBHOOK_SECRET: "bench-killb-secret",
  CABITAL_SECRET: "bench-cabital-secret",
  COINS_MERCHANT_SECRET: "bench-coins-secret",
  ORIGIN_SECRET: "whsec_YmVuY2gtb3JpZ2luLXNlY3JldC1mb3ItYmVuY2htYXJrcw==",
  ADMIN_TOKEN: "bench-admin-token-0123456789",
};
export const SOURCES = {
  cybavo: { provider: "cybavo", secrets: ["CYBAVO_API_SECRET"] },
  cregis: { provider: "cregis", secrets: ["CREGIS_API_KEY"] },
  killb: { provider: "killb", secrets: ["KILLB_WEBHOOK_SECRET"] },
  cabital: { provider: "cabital", secrets: ["CABITAL_SECRET"] },
  coins: { provider: "coins", scheme: "hmac-sha256", secrets: ["COINS_MERCHANT_SECRET"] },
};
export const PROVIDERS = Object.keys(SOURCES);
const secretOf = {
  cybavo: SECRETS.CYBAVO_API_SECRET,
  cregis: SECRETS.CREGIS_API_KEY,
  killb: SECRETS.KILLB_WEBHOOK_SECRET,
  cabital: SECRETS.CABITAL_SECRET,
  coins: SECRETS.COINS_MERCHANT_SECRET,
};
const fixture = {
  cybavo: "deposit-succeeded",
  cregis: "payout-succeeded",
  killb: "ramp-completed",
  cabital: "matched",
  coins: "p2p-transfer-success",
};

function base(provider) {
  return JSON.parse(readFileSync(new URL(`src/providers/${provider}/fixtures/${fixture[provider]}.json`, root), "utf8"));
}

/** Puts the callback on account `account` (the unit of ordering). */
function onAccount(provider, callback, account) {
  switch (provider) {
    case "cybavo":
      return { ...callback, wallet_id: account };
    case "cregis":
      return { ...callback, pid: account };
    case "killb":
      return { ...callback, data: { ...callback.data, userId: `user-${account}` } };
    case "cabital":
      return { ...callback, account_uuid: `acct-${account}` };
    default:
      return { ...callback, data: { ...callback.data, fromUserId: String(account) } };
  }
}

function sign(provider, callback, url, secret = secretOf[provider]) {
  const context = { url, now: Date.now() };
  switch (provider) {
    case "cybavo":
      return signCybavo(callback, secret);
    case "cregis":
      return signCregis(callback, secret);
    case "killb":
      return signKillb(callback, secret);
    case "cabital":
      return signCabital(callback, secret, context);
    default:
      return signCoinsHmac(callback, secret, context);
  }
}

let seed = Date.now();
/**
 * `count` signed requests for `provider` at `url`:
 * kind "new": every one a new event; "duplicate": one event over and over (Cabital: with a fresh
 * nonce each time, as a provider retry is); "forged": signed with a wrong secret.
 * Events are spread round-robin over `accounts` accounts.
 */
export function requests(provider, url, kind, count, accounts = 100) {
  const out = [];
  const one = freshen(provider, onAccount(provider, base(provider), 1), ++seed);
  for (let i = 0; i < count; i++) {
    if (kind === "duplicate") {
      out.push(provider === "cabital" || i === 0 || out.length === 0 ? sign(provider, one, url) : out[0]);
    } else {
      const callback = freshen(provider, onAccount(provider, base(provider), (i % accounts) + 1), ++seed);
      out.push(sign(provider, callback, url, kind === "forged" ? "not-the-secret" : undefined));
    }
  }
  return out;
}
