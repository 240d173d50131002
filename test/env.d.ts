// Bindings only the test configuration adds (vitest.config.ts).
declare namespace Cloudflare {
  interface Env {
    TEST_ORIGIN_URL: string;
    TEST_COINS_PRIVATE_KEY: string;
    FUZZ_RUNS: string;
  }
}
