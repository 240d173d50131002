// How Cabital Connect signs a webhook, from its docs ("API authentication"), with Node's crypto:
// ACCESS-SIGN = Base64 HMAC-SHA256(secret, timestamp "\n" POST "\n" nonce "\n" pathWithQuery
// "\n" body), with a fresh nonce each time. For tests and tools only (src/providers/signer.ts);
// the Worker never imports it.
import { createHmac, randomUUID } from "node:crypto";

const header = (headers, name) => Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
const TOLERANCE_MS = 300_000;

const pathOf = (url) => {
  const target = new URL(url);
  return `${target.pathname}${target.search}`;
};
const mac = (secret, timestamp, nonce, path, body) =>
  createHmac("sha256", secret).update(`${timestamp}\nPOST\n${nonce}\n${path}\n`).update(body).digest("base64");

/** The four headers for an exact body text posted to `url` at `now` (Unix ms), with a fresh nonce. */
export function cabitalHeaders(body, secret, { url, now = Date.now(), accessKey = "partner-key" }) {
  const timestamp = String(Math.floor(now / 1000));
  const nonce = randomUUID();
  return {
    "ACCESS-KEY": accessKey,
    "ACCESS-TIMESTAMP": timestamp,
    "ACCESS-NONCE": nonce,
    "ACCESS-SIGN": mac(secret, timestamp, nonce, pathOf(url), body),
  };
}

/** @type {import("../signer").ProviderSigner} */
export const signer = {
  provider: "cabital",
  schemes: [
    {
      id: "cabital",
      options: {},
      signature: () => ({ header: "ACCESS-SIGN", malformed: "%%%" }),
      timestamped: true,
      signsBody: true,
      singleUse: true,
      sign(callback, secret, { url, now }) {
        const body = JSON.stringify(callback);
        return { body, headers: cabitalHeaders(body, secret, { url, now }) };
      },
      reference(body, headers, secret, { url }) {
        const [timestamp, nonce, sign] = ["ACCESS-TIMESTAMP", "ACCESS-NONCE", "ACCESS-SIGN"].map((name) => header(headers, name));
        if (timestamp === undefined || nonce === undefined || sign === undefined) return false;
        if (Math.abs(Date.now() - Number(timestamp) * 1000) > TOLERANCE_MS) return false;
        return sign === mac(secret, timestamp, nonce, pathOf(url), body);
      },
    },
  ],
  freshen: (callback, seed) => ({ ...callback, event_time: new Date(seed).toISOString() }),
  onAccount: (callback, account) => ({ ...callback, account_uuid: `acct-${account}` }),
  account: (callback) => String(callback.account_uuid),
  unknownEvent: { account_uuid: "a-unknown", status: "FROZEN", event_time: "2020-07-01T09:00:00.000Z" },
  benchFixture: "matched",
  test: {
    // The first vector's secret (test/fixtures/vectors.json).
    secrets: { CABITAL_SECRET: "cabital-test-secret" },
    sources: () => ({ cabital: { provider: "cabital", secrets: ["CABITAL_SECRET"], signedPath: "/webhooks/cabital" } }),
    kits: [{ source: "cabital", scheme: "cabital" }],
  },
};
