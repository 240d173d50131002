/**
 * Node-side helpers for the e2e suite: build the Worker as `wrangler deploy` would and wait for
 * the origin. Callbacks are signed by the providers' test signers
 * (src/providers/<name>/signer.mjs), the provider-side signers `npm run send` uses.
 * test/support/gateway.ts cannot be used here: it imports cloudflare:* modules, which exist
 * only inside workerd.
 */

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { env as processEnv } from "node:process";
import { fileURLToPath } from "node:url";
import type { Json, Miniflare } from "miniflare";
import { unstable_convertConfigBindingsToStartWorkerBindings, unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";
import { applyLocalMigrations } from "../../scripts/lib/local-d1.mjs";

/** The project root (where wrangler.toml is). */
export const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export function makeTempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(join(tmpdir(), prefix));
}

export function removeDir(path: string): Promise<void> {
  return fs.rm(path, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
}

/**
 * Runs `create` with `os.tmpdir()` pointing at `dir`. Miniflare picks its scratch directory in
 * its constructor and removes it on `dispose()` without waiting (fire-and-forget), so a test
 * process that exits right after can leave `miniflare-*` behind in /tmp; under `dir` it is
 * removed with the rest.
 */
export function withTmpdir<T>(dir: string, create: () => T): T {
  const saved = processEnv.TMPDIR;
  processEnv.TMPDIR = dir;
  try {
    return create();
  } finally {
    if (saved === undefined) delete processEnv.TMPDIR;
    else processEnv.TMPDIR = saved;
  }
}

/**
 * The Worker's settings as `wrangler dev` reads them from wrangler.toml, in Miniflare's options:
 * compatibility date and flags, KV namespaces, Durable Object classes (SQLite-backed per
 * `[[migrations]]`) and `[vars]` (plus `.dev.vars` when it exists, as `wrangler dev` and the
 * workers test project read it). A binding added to wrangler.toml is therefore in this suite
 * too; the tests override only the values (testBindings). This is the function Cloudflare's
 * vitest plugin uses for the same purpose.
 */
export function wranglerWorkerOptions() {
  // `modulesRules` tell Miniflare how to read unbundled sources; the suite runs wrangler's bundle.
  const {
    modulesRules: _unbundled,
    bindings,
    ...options
  } = unstable_getMiniflareWorkerOptions(join(PROJECT_ROOT, "wrangler.toml")).workerOptions;
  return { ...options, bindings: (bindings ?? {}) as Record<string, Json> };
}

/**
 * Gives a Miniflare gateway's operators' index (the D1 database `INDEX_DB`, which
 * wranglerWorkerOptions declares from wrangler.toml, empty) the schema of migrations/, as
 * `npm start` and `npm run deploy` apply it with wrangler. Call it once `mf.ready` has resolved,
 * before the first request; returns the names of the migrations applied.
 */
export async function applyIndexMigrations(mf: Miniflare): Promise<string[]> {
  return applyLocalMigrations(await mf.getD1Database("INDEX_DB"));
}

/**
 * The name of every binding wrangler.toml declares, of any kind (KV, Durable Object, var, ...),
 * read with wrangler's own config reader: what the deployed Worker's `env` holds.
 */
export function wranglerBindingNames(): string[] {
  const config = unstable_readConfig({ config: join(PROJECT_ROOT, "wrangler.toml") });
  return Object.keys(unstable_convertConfigBindingsToStartWorkerBindings(config) ?? {}).sort();
}

/**
 * Builds the Worker exactly as `wrangler deploy` would upload it (`--dry-run --outdir`) and
 * returns the path of the bundled entry module.
 */
export async function buildWorker(outdir: string): Promise<string> {
  const args = ["wrangler", "deploy", "--dry-run", "--outdir", outdir];
  const env = { ...processEnv, CI: "true", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };
  await new Promise<void>((resolve, reject) => {
    execFile("npx", args, { cwd: PROJECT_ROOT, env, timeout: 90_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`npx ${args.join(" ")} failed: ${error.message}\n${stdout}\n${stderr}`));
      else resolve();
    });
  });
  const files = await fs.readdir(outdir);
  const entry = files.includes("index.js") ? "index.js" : files.find((f) => f.endsWith(".js") || f.endsWith(".mjs"));
  if (entry === undefined) throw new Error(`wrangler wrote no module to ${outdir}: ${files.join(", ")}`);
  return join(outdir, entry);
}
/**
 * The gateway's event id contract (src/ingress.ts `eventId`): `evt_` + the first 128 bits of
 * SHA-256 over the JSON array [source, account, idempotency key], hex.
 */
export function expectedEventId(source: string, account: string, idempotencyKey: string): string {
  return `evt_${createHash("sha256")
    .update(JSON.stringify([source, account, idempotencyKey]))
    .digest("hex")
    .slice(0, 32)}`;
}

// ---------------------------------------------------------------------------------------------
// Waiting, always bounded.

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `read` until `done` holds for its value; fails with `describe(value)` after `timeoutMs`. */
export async function waitFor<T>(
  read: () => T,
  done: (value: T) => boolean,
  describe: (value: T) => string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe(value)}`);
    await sleep(50);
  }
}

/** A number no earlier run of this suite used, for wallet ids, serials and Cregis ids. */
let counter = 0;
export function unique(): number {
  counter += 1;
  return (Date.now() % 1_000_000_000) * 1000 + counter;
}
