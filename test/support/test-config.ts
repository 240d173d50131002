/**
 * The configuration every test suite runs the gateway with: the gateway's own secrets, and for
 * each registered provider the secrets and sources its test signer declares
 * (src/providers/<name>/signer.mjs `test`). Secrets are public example values, never real
 * credentials. The RSA key pair of the Coins rsa-sha256 source is generated for each run
 * (vitest.config.ts) and passed in.
 */
import type { TestSource } from "../../src/providers/signer";
import { signers } from "./providers";

const GATEWAY_SECRETS = {
  ORIGIN_SECRET: "whsec_dGVzdC1vcmlnaW4tc2VjcmV0LWZvci10ZXN0cy1vbmx5",
  // Every test delivery is signed with both keys, as during an ORIGIN_SECRET rotation.
  ORIGIN_SECRET_PREVIOUS: "whsec_cHJldmlvdXMtb3JpZ2luLXNlY3JldC1mb3ItdGVzdHM=",
  // And with two v1a (Ed25519) keys, Svix's 64-byte form and the bare seed (docs/vectors/standard-webhooks-v1a.json).
  ORIGIN_SIGNING_KEY: "whsk_4R7Up3sgSj9vp0g/CFYo24vhEG3jVJAwVCV2NuADEtMF3w7ENWsECvyNpOw1U3Nk98mkBGqeMsrheFCTeL5fYg==",
  ORIGIN_SIGNING_KEY_PREVIOUS: "whsk_dvzDDYlmiPDo1HMGEF4P6hAwnycpBXSm0IVfxmsopDQ=",
  ADMIN_TOKEN: "test-admin-token-0123456789",
};

/**
 * The provider secrets tests name directly (the others are reached through their kits), typed
 * so tests read them as strings. Each must be declared by its provider's signer: checked at load.
 */
const NAMED = [
  "CYBAVO_API_SECRET",
  "CYBAVO_OLD_SECRET",
  "CYBAVO_WALLET_7_SECRET",
  "CREGIS_API_KEY",
  "KILLB_WEBHOOK_SECRET",
  "CABITAL_SECRET",
  "COINS_HMAC_SECRET",
  "COINS_TOKEN",
] as const;

const providerSecrets: Record<string, string> = Object.assign({}, ...[...signers.values()].map((signer) => signer.test.secrets));

export const TEST_SECRETS = { ...providerSecrets, ...GATEWAY_SECRETS } as Readonly<Record<string, string>> &
  Readonly<Record<(typeof NAMED)[number] | keyof typeof GATEWAY_SECRETS, string>>;

for (const name of NAMED) {
  if (typeof TEST_SECRETS[name] !== "string") throw new Error(`test-config: no provider's test signer declares the secret ${name}`);
}

/** Every registered provider's test sources, in registry order. */
export function testSources(coinsPublicKey: string): Record<string, TestSource> {
  return Object.assign({}, ...[...signers.values()].map((signer) => signer.test.sources({ rsaPublicKey: coinsPublicKey })));
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
