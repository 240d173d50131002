// How CYBAVO SOFA signs a callback, from its docs (CYBAVO/SOFA_MOCK_SERVER, API_CHECKSUM_CALC),
// with Node's crypto: X-CHECKSUM = base64url (with '=' padding) of SHA-256(body ‖ API secret).
// For tests and tools only (src/providers/signer.ts); the Worker never imports it.
import { createHash } from "node:crypto";

const header = (headers, name) => Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];

/** The X-CHECKSUM of an exact body text. */
export function cybavoChecksum(body, secret) {
  return createHash("sha256").update(body).update(secret).digest("base64").replaceAll("+", "-").replaceAll("/", "_");
}

/** A callback signed as CYBAVO sends it: its JSON body and the X-CHECKSUM header. */
export function signCybavo(callback, secret) {
  const body = JSON.stringify(callback);
  return { body, headers: { "X-CHECKSUM": cybavoChecksum(body, secret) } };
}

/** @type {import("../signer").ProviderSigner} */
export const signer = {
  provider: "cybavo",
  schemes: [
    {
      id: "cybavo",
      options: {},
      signature: () => ({ header: "X-CHECKSUM", malformed: "not*base64" }),
      timestamped: false,
      signsBody: true,
      singleUse: false,
      sign: (callback, secret) => signCybavo(callback, secret),
      reference: (body, headers, secret) => header(headers, "X-CHECKSUM") === cybavoChecksum(body, secret),
    },
  ],
  freshen: (callback, seed) => ({ ...callback, serial: seed }),
  onAccount: (callback, account) => ({ ...callback, wallet_id: account }),
  account: (callback) => String(callback.wallet_id),
  unknownEvent: { type: 9, serial: 1, currency: "ETH", amount: "1", wallet_id: 1, state: 3, processing_state: 2, decimal: 18 },
  benchFixture: "deposit-succeeded",
  test: {
    // CYBAVO_API_SECRET is the first vector's secret (test/fixtures/vectors.json).
    secrets: {
      CYBAVO_API_SECRET: "API_SECRET",
      CYBAVO_OLD_SECRET: "cybavo-previous-secret",
      CYBAVO_WALLET_7_SECRET: "cybavo-wallet-7-secret",
    },
    sources: () => ({
      cybavo: { provider: "cybavo", secrets: ["CYBAVO_API_SECRET", "CYBAVO_OLD_SECRET"] },
      "cybavo-wallets": { provider: "cybavo", secrets: ["CYBAVO_API_SECRET"], walletSecrets: { 7: ["CYBAVO_WALLET_7_SECRET"] } },
      "cybavo-ip": { provider: "cybavo", secrets: ["CYBAVO_API_SECRET"], ipAllowList: ["192.0.2.0/24", "2001:db8::/32"] },
    }),
    kits: [{ source: "cybavo", scheme: "cybavo" }],
  },
};
