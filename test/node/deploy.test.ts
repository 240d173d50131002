/**
 * `npm run deploy` (scripts/deploy.mjs) against a stand-in for wrangler that records every
 * command: the preflight, then the operators' index schema (`wrangler d1 migrations apply
 * INDEX_DB --remote`), then `wrangler deploy`, in that order; it stops at the first step that
 * fails, so new code never runs against a database without its tables.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
const SECRETS = [
  "CYBAVO_API_SECRET",
  "CREGIS_API_KEY",
  "KILLB_WEBHOOK_SECRET",
  "CABITAL_SECRET",
  "COINS_MERCHANT_SECRET",
  "ORIGIN_SECRET",
  "ADMIN_TOKEN",
];

/** Records its arguments; lists the secrets; fails the command whose first words are STANDIN_FAIL. */
const STANDIN = `import { appendFileSync } from "node:fs";
const args = process.argv.slice(2).join(" ").replaceAll(process.env.STANDIN_DIR, "<dir>");
appendFileSync(process.env.STANDIN_DIR + "/calls.txt", args + "\\n");
if (process.env.STANDIN_FAIL && args.startsWith(process.env.STANDIN_FAIL)) { console.error("✘ [ERROR] D1 is unavailable (stand-in)"); process.exit(1); }
if (args.startsWith("secret list")) console.log(JSON.stringify(${JSON.stringify(SECRETS)}.map((name) => ({ name, type: "secret_text" }))));
`;

/** The committed configuration with its example ids and origin filled in (or left as they are). */
function workspace(fill = true) {
  const dir = mkdtempSync(join(tmpdir(), "deploy-"));
  let toml = readFileSync(join(root, "wrangler.toml"), "utf8").replace('main = "src/index.ts"', `main = "${join(root, "src/index.ts")}"`);
  if (fill) {
    toml = toml
      .replace(/^id = "0{31}(\d)"/gm, (_, n: string) => `id = "3f1c0d9a6b2e4c7d8e9f0a1b2c3d4e5${n}"`)
      .replace(/^database_id = "[0-]+"/m, 'database_id = "7c2e4a1b-5d3f-4e6a-9b8c-0d1e2f3a4b5c"')
      .replace("https://origin.example.com/webhooks/gateway", "https://payments.acme-pay.io/webhooks/gateway");
  }
  writeFileSync(join(dir, "wrangler.toml"), toml);
  writeFileSync(join(dir, "wrangler-standin.mjs"), STANDIN);
  writeFileSync(join(dir, "calls.txt"), "");
  return dir;
}

function deploy(dir: string, fail?: string) {
  const run = spawnSync(process.execPath, [join(root, "scripts/deploy.mjs"), "--config", join(dir, "wrangler.toml")], {
    encoding: "utf8",
    cwd: dir,
    env: {
      ...process.env,
      WRANGLER_BIN: join(dir, "wrangler-standin.mjs"),
      STANDIN_DIR: dir,
      ...(fail !== undefined && { STANDIN_FAIL: fail }),
    },
  });
  return {
    status: run.status,
    output: `${run.stdout}${run.stderr}`,
    calls: readFileSync(join(dir, "calls.txt"), "utf8").trim().split("\n").filter(Boolean),
  };
}

describe("npm run deploy", () => {
  it("runs the preflight, applies migrations/ to the remote index database, then deploys", () => {
    const run = deploy(workspace());
    expect(run.status, run.output).toBe(0);
    expect(run.calls).toEqual([
      "secret list --format json --config <dir>/wrangler.toml",
      "d1 migrations apply INDEX_DB --remote --config <dir>/wrangler.toml",
      "deploy --config <dir>/wrangler.toml",
    ]);
  });

  it("does not deploy when the migrations fail", () => {
    const run = deploy(workspace(), "d1 migrations apply");
    expect(run.status).toBe(1);
    expect(run.calls.at(-1)).toBe("d1 migrations apply INDEX_DB --remote --config <dir>/wrangler.toml");
    expect(run.output).toContain("deploy: stopped");
  });

  it("neither migrates nor deploys when the preflight finds a problem (the example database_id)", () => {
    const run = deploy(workspace(false));
    expect(run.status).toBe(1);
    expect(run.calls).toEqual(["secret list --format json --config <dir>/wrangler.toml"]);
    expect(run.output).toContain("D1 database INDEX_DB has the example database_id");
  });
});
