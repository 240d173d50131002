// Bindings only the test configuration adds (vitest.config.ts).
declare namespace Cloudflare {
  interface Env {
    TEST_ORIGIN_URL: string;
    TEST_COINS_PRIVATE_KEY: string;
    FUZZ_RUNS: string;
    /** migrations/ as readD1Migrations reads it: applied before each test file (test/support/setup.ts). */
    TEST_D1_MIGRATIONS: import("cloudflare:test").D1Migration[];
  }
}
