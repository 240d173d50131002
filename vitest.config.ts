/**
 * Three test projects:
 * - "workers": unit and integration tests inside workerd (real KV, real SQLite-backed Durable
 *   Objects) through Cloudflare's vitest integration;
 * - "node": the portable verification module in Node and in headless Chromium;
 * - "e2e": Node tests that start the gateway as a real local server with Miniflare.
 * Both deliver to a real Node HTTP origin on loopback (scripts/origin.mjs).
 */
import { generateKeyPairSync } from "node:crypto";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { startOrigin } from "./scripts/origin.mjs";
import { TEST_SECRETS, testBindings } from "./test/support/test-config";

// The origin the in-workerd tests deliver to. It lives as long as the vitest process; `unref`
// lets the process exit when the run is over.
const origin = await startOrigin({ secret: TEST_SECRETS.ORIGIN_SECRET });
origin.server.unref();

// A fresh RSA key pair for the Coins rsa-sha256 source: the gateway gets the public key in its
// configuration, the tests sign with the private key (test-only binding).
const coinsKeys = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  publicKeyEncoding: { type: "spki", format: "pem" },
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
});

export default defineConfig({
  test: {
    // Log lines of passing tests are not printed: the fuzz tests alone log thousands.
    silent: "passed-only",
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                ...testBindings(origin.url, coinsKeys.publicKey),
                TEST_ORIGIN_URL: origin.url,
                TEST_COINS_PRIVATE_KEY: coinsKeys.privateKey,
                // Cases per provider in test/fuzz.test.ts (docs/operations.md: FUZZ_RUNS=100000).
                FUZZ_RUNS: process.env.FUZZ_RUNS ?? "1000",
              },
            },
          }),
        ],
        test: { name: "workers", include: ["test/**/*.test.ts"], exclude: ["test/e2e/**", "test/node/**"] },
      },
      {
        test: { name: "node", include: ["test/node/**/*.test.ts"], environment: "node", testTimeout: 60_000, hookTimeout: 60_000 },
      },
      {
        test: { name: "e2e", include: ["test/e2e/**/*.test.ts"], environment: "node", testTimeout: 60_000, hookTimeout: 120_000 },
      },
    ],
  },
});
