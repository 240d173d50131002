/**
 * The configuration every test suite runs the gateway with. Secrets are the public example
 * values of the signature vectors (test/fixtures/vectors.json), never real credentials. The
 * Coins RSA key pair is generated for each run (vitest.config.ts) and passed in.
 */
import vectors from "../fixtures/vectors.json" with { type: "json" };

export const TEST_SECRETS = {
  CYBAVO_API_SECRET: vectors.cybavo[0]!.apiSecret,
  CYBAVO_OLD_SECRET: "cybavo-previous-secret",
  CYBAVO_WALLET_7_SECRET: "cybavo-wallet-7-secret",
  CREGIS_API_KEY: vectors.cregis[0]!.apiKey,
  KILLB_WEBHOOK_SECRET: vectors.killb[0]!.secret,
  CABITAL_SECRET: vectors.cabital[0]!.secret,
  COINS_HMAC_SECRET: "coins-merchant-secret",
  COINS_TOKEN: "coins-static-token",
  ORIGIN_SECRET: "whsec_dGVzdC1vcmlnaW4tc2VjcmV0LWZvci10ZXN0cy1vbmx5",
  // Every test delivery is signed with both keys, as during an ORIGIN_SECRET rotation.
  ORIGIN_SECRET_PREVIOUS: "whsec_cHJldmlvdXMtb3JpZ2luLXNlY3JldC1mb3ItdGVzdHM=",
  ADMIN_TOKEN: "test-admin-token-0123456789",
};

export function testSources(coinsPublicKey: string) {
  return {
    cybavo: { provider: "cybavo", secrets: ["CYBAVO_API_SECRET", "CYBAVO_OLD_SECRET"] },
    "cybavo-wallets": { provider: "cybavo", secrets: ["CYBAVO_API_SECRET"], walletSecrets: { "7": ["CYBAVO_WALLET_7_SECRET"] } },
    "cybavo-ip": { provider: "cybavo", secrets: ["CYBAVO_API_SECRET"], ipAllowList: ["192.0.2.0/24", "2001:db8::/32"] },
    cregis: { provider: "cregis", secrets: ["CREGIS_API_KEY"] },
    "cregis-nested": { provider: "cregis", secrets: ["CREGIS_API_KEY"], nestedValues: "canonical-json" },
    killb: { provider: "killb", secrets: ["KILLB_WEBHOOK_SECRET"] },
    cabital: { provider: "cabital", secrets: ["CABITAL_SECRET"], signedPath: "/webhooks/cabital" },
    "coins-rsa": { provider: "coins", scheme: "rsa-sha256", publicKey: coinsPublicKey, signatureHeader: "X-Coins-Signature" },
    "coins-hmac": {
      provider: "coins",
      scheme: "hmac-sha256",
      secrets: ["COINS_HMAC_SECRET"],
      signedUrl: "https://gateway.test/webhooks/coins-hmac",
    },
    "coins-token": { provider: "coins", scheme: "token", secrets: ["COINS_TOKEN"] },
  };
}

/** Bindings for a gateway whose origin listens at `originUrl`. */
export function testBindings(originUrl: string, coinsPublicKey: string): Record<string, string> {
  return {
    ...TEST_SECRETS,
    SOURCES: JSON.stringify(testSources(coinsPublicKey)),
    ORIGIN_URL: `${originUrl}/events`,
    MAX_BODY_BYTES: "65536",
    DELIVERY_TIMEOUT_MS: "1000",
    STATS_FLUSH_MS: "1",
  };
}
