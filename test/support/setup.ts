/**
 * Runs before every test of the workers project. Tests share one isolate per file, so state a
 * fresh isolate would not have is reset here: the log windows (src/log-throttle.ts), so each
 * test sees the first line of its own rejected, forbidden, oversized or unknown-source requests.
 * Each file's D1 database (the operators' index) gets its schema first.
 */
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, beforeEach } from "vitest";
import { forgetLogWindows } from "../../src/log-throttle";

// The operators' index schema, as `wrangler d1 migrations apply` would set it up (idempotent:
// applied migrations are recorded in the database).
beforeAll(async () => {
  await applyD1Migrations(env.INDEX_DB, env.TEST_D1_MIGRATIONS);
});

beforeEach(() => {
  forgetLogWindows();
});
