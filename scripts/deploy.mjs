// `npm run deploy`: the preflight (scripts/preflight.mjs), then the operators' index schema
// (`wrangler d1 migrations apply INDEX_DB --remote`: migrations/ not yet applied to the D1
// database), then `wrangler deploy`. Migrations go first so the new code never runs against an
// older schema; each one only adds (a table, a column, an index), so the code still serving
// until the deploy keeps working. It stops at the first step that fails.
// Options: --config <file> (default wrangler.toml), --env <name>, passed to every step; the
// preflight's own options (--skip-secrets, --no-admin) are passed to it. WRANGLER_BIN runs
// another wrangler (the tests use a stand-in that records the commands).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runWrangler } from "./lib/wrangler.mjs";

/** The binding of the operators' index (wrangler.toml `[[d1_databases]]`). */
export const INDEX_BINDING = "INDEX_DB";

function main() {
  const { values } = parseArgs({
    options: {
      config: { type: "string", default: "wrangler.toml" },
      env: { type: "string" },
      "skip-secrets": { type: "boolean", default: false },
      "no-admin": { type: "boolean", default: false },
    },
  });
  const target = ["--config", values.config, ...(values.env ? ["--env", values.env] : [])];
  const preflight = spawnSync(
    process.execPath,
    [
      fileURLToPath(new URL("preflight.mjs", import.meta.url)),
      ...target,
      ...(values["skip-secrets"] ? ["--skip-secrets"] : []),
      ...(values["no-admin"] ? ["--no-admin"] : []),
    ],
    { stdio: "inherit" },
  );
  if (preflight.status !== 0) process.exit(preflight.status ?? 1);
  try {
    console.log(`deploy: applying migrations/ to ${INDEX_BINDING} (wrangler d1 migrations apply --remote)`);
    runWrangler(["d1", "migrations", "apply", INDEX_BINDING, "--remote", ...target], { inherit: true });
    runWrangler(["deploy", ...target], { inherit: true });
  } catch (err) {
    console.error(`deploy: stopped: ${err.message}`);
    process.exit(1);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
