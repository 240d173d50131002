/**
 * The configuration every test suite runs the gateway with. Secrets are the public example
 * values of the signature vectors (test/fixtures/vectors.json), never real credentials.
 */
import vectors from "../fixtures/vectors.json" with { type: "json" };

export const TEST_SECRETS = {
  CYBAVO_API_SECRET: vectors.cybavo[0]!.apiSecret,
  CYBAVO_OLD_SECRET: "cybavo-previous-secret",
  CYBAVO_WALLET_7_SECRET: "cybavo-wallet-7-secret",
  CREGIS_API_KEY: vectors.cregis[0]!.apiKey,
  ORIGIN_SECRET: "whsec_dGVzdC1vcmlnaW4tc2VjcmV0LWZvci10ZXN0cy1vbmx5",
  ADMIN_TOKEN: "test-admin-token",
};

export const TEST_SOURCES = {
  cybavo: { provider: "cybavo", secrets: ["CYBAVO_API_SECRET", "CYBAVO_OLD_SECRET"] },
  "cybavo-wallets": { provider: "cybavo", secrets: ["CYBAVO_API_SECRET"], walletSecrets: { "7": ["CYBAVO_WALLET_7_SECRET"] } },
  cregis: { provider: "cregis", secrets: ["CREGIS_API_KEY"] },
  "cregis-nested": { provider: "cregis", secrets: ["CREGIS_API_KEY"], nestedValues: "canonical-json" },
};

/** Bindings for a gateway whose origin listens at `originUrl`. */
export function testBindings(originUrl: string): Record<string, string> {
  return {
    ...TEST_SECRETS,
    SOURCES: JSON.stringify(TEST_SOURCES),
    ORIGIN_URL: `${originUrl}/events`,
    MAX_BODY_BYTES: "65536",
    DELIVERY_TIMEOUT_MS: "3000",
  };
}
