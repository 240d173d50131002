// Runs the project's wrangler (or WRANGLER_BIN: the tests' stand-in) for the scripts
// (scripts/setup.mjs, preflight.mjs, deploy.mjs, start.mjs), without colours, and turns a failure into an
// error that carries wrangler's first message line.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/**
 * Runs `wrangler <args>` and returns its standard output; `inherit` lets wrangler talk to the
 * terminal (a secret's prompt); `env` adds environment variables (the caller's take precedence).
 */
export function runWrangler(args, { inherit = false, env = {} } = {}) {
  const bin = process.env.WRANGLER_BIN ?? fileURLToPath(new URL("../../node_modules/wrangler/bin/wrangler.js", import.meta.url));
  const options = {
    encoding: "utf8",
    env: { ...env, ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
    stdio: inherit ? "inherit" : "pipe",
  };
  const run = /\.m?js$/.test(bin) ? spawnSync(process.execPath, [bin, ...args], options) : spawnSync(bin, args, options);
  if (run.status !== 0) {
    // Wrangler's first error line, without its colours and its "[ERROR]" badge.
    const text = `${run.stderr ?? ""}\n${run.stdout ?? ""}`.replace(/\x1b\[[0-9;]*m/g, "").replace(/✘ \[ERROR\] /g, "");
    throw new Error(
      text
        .split("\n")
        .find((line) => line.trim() !== "")
        ?.trim() ?? `exit ${run.status}`,
    );
  }
  return run.stdout ?? "";
}
