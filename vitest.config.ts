/**
 * Three test projects:
 * - "workers": unit and integration tests inside workerd (real KV, real SQLite-backed Durable
 *   Objects) through Cloudflare's vitest integration;
 * - "node": the portable verification module in Node and in headless Chromium;
 * - "e2e": Node tests that start the gateway as a real local server with Miniflare.
 * Both deliver to a real Node HTTP origin on loopback (scripts/origin.mjs).
 */
import { generateKeyPairSync } from "node:crypto";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { runnerImport } from "vite";
import { defineConfig, type Plugin } from "vitest/config";
import { startOrigin } from "./scripts/origin.mjs";

// The test configuration is derived from the provider registry, whose sources import each other
// without file extensions (as the Worker's bundler resolves them). It is loaded through Vite's
// module runner, which resolves them, instead of being bundled into this file, so this file
// stays loadable as plain ESM and Vite has no native-loader advisory to print.
const testConfig = fileURLToPath(new URL("./test/support/test-config.ts", import.meta.url));
const { TEST_SECRETS, testBindings } = (await runnerImport<typeof import("./test/support/test-config.ts")>(testConfig)).module;

// Wrangler (read by the plugin and the e2e suite for wrangler.toml) logs at `warn` in test runs:
// its info lines, such as "Using secrets defined in .dev.vars" once per test file, are not test
// output. Set WRANGLER_LOG to see them.
process.env.WRANGLER_LOG ??= "warn";

// The operators' index schema (migrations/), applied to each test file's D1 database by
// test/support/setup.ts, as `wrangler d1 migrations apply` applies it to a deployed one.
const d1Migrations = await readD1Migrations(fileURLToPath(new URL("./migrations", import.meta.url)));

// The origin the in-workerd tests deliver to. It lives as long as the vitest process; `unref`
// lets the process exit when the run is over.
// Its /ops path is the protection project's operations webhook, verified with its own secret.
const OPS_WEBHOOK_SECRET = "whsec_dGVzdC1vcHMtd2ViaG9vay1zZWNyZXQtZm9yLXRlc3Rz";
const origin = await startOrigin({ secret: TEST_SECRETS.ORIGIN_SECRET, pathSecrets: { "/ops": OPS_WEBHOOK_SECRET } });
origin.server.unref();

// A fresh RSA key pair for the Coins rsa-sha256 source: the gateway gets the public key in its
// configuration, the tests sign with the private key (test-only binding).
const coinsKeys = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  publicKeyEncoding: { type: "spki", format: "pem" },
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
});

// The official `standardwebhooks` package (a test oracle) ships source maps whose TypeScript
// sources it does not publish, and Vite warns about each one it loads. Its code is loaded
// without the dangling map reference instead; Vite still maps the tests' own sources.
const withoutUnpublishedSourceMaps: Plugin = {
  name: "without-unpublished-source-maps",
  enforce: "pre",
  async load(id) {
    if (!/\/node_modules\/standardwebhooks\/dist\/[^/]+\.js$/.test(id)) return null;
    const code = await readFile(id, "utf8");
    return { code: code.replace(/^\/\/# sourceMappingURL=.*$/m, ""), map: null };
  },
};

/** A project of tests run inside workerd with the gateway's bindings (and `bindings` over them). */
function workersProject(name: string, include: string[], exclude: string[], bindings: Record<string, string>) {
  return {
    plugins: [
      withoutUnpublishedSourceMaps,
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        // workerd's --verbose prints internal diagnostics with native stack traces (a
        // Durable Object's output gate broken by a fault a test injects on purpose); the
        // tests assert on those outcomes. Worker log lines, runtime warnings and failures
        // still show. Set it to true to debug the runtime itself.
        verbose: false,
        miniflare: {
          bindings: {
            ...testBindings(origin.url, coinsKeys.publicKey),
            TEST_ORIGIN_URL: origin.url,
            TEST_COINS_PRIVATE_KEY: coinsKeys.privateKey,
            TEST_D1_MIGRATIONS: d1Migrations,
            // Cases per provider in test/fuzz.test.ts (docs/operations.md: FUZZ_RUNS=100000).
            FUZZ_RUNS: process.env.FUZZ_RUNS ?? "1000",
            ...bindings,
          },
        },
      }),
    ],
    // isolate: every test file gets fresh Worker module state (caches per isolate, batched
    // stats), as the tests assume; stated so that vitest does not suggest dropping it.
    test: {
      name,
      include,
      exclude: ["test/e2e/**", "test/node/**", ...exclude],
      isolate: true,
      setupFiles: ["test/support/setup.ts"],
    },
  };
}

export default defineConfig({
  test: {
    // Log lines of passing tests are not printed: the fuzz tests alone log thousands.
    silent: "passed-only",
    projects: [
      // The suites that script origin failures run with the breaker out of reach (a file's tests
      // share one destination, and their scripted 503s would open it for the tests after them);
      // test/protection/ runs the breaker, the ceiling and pauses with the production defaults.
      workersProject("workers", ["test/**/*.test.ts"], ["test/protection/**"], {
        BREAKER_CONSECUTIVE_FAILURES: "1000000",
        BREAKER_MIN_ATTEMPTS: "1000000",
        DESTINATION_MAX_PER_SECOND: "100000",
      }),
      workersProject("protection", ["test/protection/**/*.test.ts"], [], {
        OPS_WEBHOOK_URL: `${origin.url}/ops`,
        OPS_WEBHOOK_SECRET,
      }),
      {
        test: { name: "node", include: ["test/node/**/*.test.ts"], environment: "node", testTimeout: 60_000, hookTimeout: 60_000 },
      },
      {
        test: { name: "e2e", include: ["test/e2e/**/*.test.ts"], environment: "node", testTimeout: 60_000, hookTimeout: 120_000 },
      },
    ],
  },
});
