/**
 * `npm run preflight` (scripts/preflight.mjs), run as a user runs it: on the committed example
 * configuration (its placeholders are problems, or notes with --allow-placeholders, as CI runs
 * it), and on a filled-in one whose secrets come from a stand-in for `wrangler secret list`
 * (the command it issues is recorded and checked).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
const committed = readFileSync(join(root, "wrangler.toml"), "utf8");
/** The KV bindings the committed configuration declares, in order, with their example ids. */
const KV = [...committed.matchAll(/\[\[kv_namespaces\]\]\s*\nbinding = "(\w+)"\s*\nid = "(\w+)"/g)].map((m) => ({
  binding: m[1]!,
  id: m[2]!,
}));
const EXAMPLE_DATABASE_ID = "00000000-0000-0000-0000-000000000000";
const ALL_SECRETS = [
  "CYBAVO_API_SECRET",
  "CREGIS_API_KEY",
  "KILLB_WEBHOOK_SECRET",
  "CABITAL_SECRET",
  "COINS_MERCHANT_SECRET",
  "ORIGIN_SECRET",
  "ADMIN_TOKEN",
];

/** A directory with a config (the committed one, edited by `edit`) and a stand-in wrangler. */
function workspace(edit: (toml: string) => string = (t) => t, secretsSet: string[] = ALL_SECRETS) {
  const dir = mkdtempSync(join(tmpdir(), "preflight-"));
  writeFileSync(join(dir, "wrangler.toml"), edit(committed).replace('main = "src/index.ts"', `main = "${join(root, "src/index.ts")}"`));
  // Prints the secrets as `wrangler secret list --format json` does and records its arguments.
  writeFileSync(
    join(dir, "wrangler-standin.mjs"),
    `import { appendFileSync } from "node:fs";
appendFileSync(${JSON.stringify(join(dir, "calls.txt"))}, process.argv.slice(2).join(" ") + "\\n");
console.log(JSON.stringify(${JSON.stringify(secretsSet)}.map((name) => ({ name, type: "secret_text" }))));`,
  );
  return dir;
}

function preflight(dir: string, ...args: string[]) {
  const run = spawnSync(process.execPath, [join(root, "scripts/preflight.mjs"), "--config", join(dir, "wrangler.toml"), ...args], {
    encoding: "utf8",
    cwd: dir,
    env: { ...process.env, WRANGLER_BIN: join(dir, "wrangler-standin.mjs") },
  });
  const lines = `${run.stdout}${run.stderr}`
    .split("\n")
    .filter((l) => l.startsWith("preflight:"))
    .map((l) => l.replaceAll(dir, "<dir>"));
  const calls = (() => {
    try {
      return readFileSync(join(dir, "calls.txt"), "utf8").trim().split("\n");
    } catch {
      return [];
    }
  })();
  return { status: run.status, lines, calls: calls.map((c) => c.replaceAll(dir, "<dir>")) };
}

const filled = (toml: string) =>
  toml
    .replace('id = "00000000000000000000000000000000"', 'id = "3f1c0d9a6b2e4c7d8e9f0a1b2c3d4e5f"')
    .replace('id = "00000000000000000000000000000001"', 'id = "9a8b7c6d5e4f30211203f4e5d6c7b8a9"')
    .replace(`database_id = "${EXAMPLE_DATABASE_ID}"`, 'database_id = "7c2e4a1b-5d3f-4e6a-9b8c-0d1e2f3a4b5c"')
    .replace("https://origin.example.com/webhooks/gateway", "https://payments.acme-pay.io/webhooks/gateway");

describe("npm run preflight", () => {
  it("on the committed example: one line per placeholder, and it fails", () => {
    const { status, lines, calls } = preflight(workspace(), "--skip-secrets");
    expect(status).toBe(1);
    expect(KV[0]).toEqual({ binding: "SEEN", id: "00000000000000000000000000000000" });
    expect(lines).toEqual([
      ...KV.map(
        ({ binding, id }) =>
          `preflight: KV namespace ${binding} has the example id ${id}: run \`npx wrangler kv namespace create ${binding}\` and put its id in the config`,
      ),
      `preflight: D1 database INDEX_DB has the example database_id ${EXAMPLE_DATABASE_ID}: run \`npm run setup\` or \`npx wrangler d1 create webhook-gateway-index\` and put its database_id in the config`,
      "preflight: ORIGIN_URL is the example https://origin.example.com: set it in [vars] to your origin's https endpoint",
      `preflight: ${KV.length + 2} problem(s) in <dir>/wrangler.toml: fix them before deploying`,
    ]);
    expect(calls).toEqual([]);
  });

  it("on the committed example with --allow-placeholders (as CI runs it): notes, and it passes without an account", () => {
    const { status, lines, calls } = preflight(workspace(), "--allow-placeholders");
    expect(status).toBe(0);
    expect(lines.filter((l) => l.startsWith("preflight: note:"))).toHaveLength(KV.length + 2);
    expect(lines.at(-1)).toBe("preflight: <dir>/wrangler.toml is ready to deploy (secrets not checked)");
    expect(calls).toEqual([]);
  });

  it("on a filled-in configuration with every secret set: passes, after one `wrangler secret list`", () => {
    const { status, lines, calls } = preflight(workspace(filled));
    expect([status, lines]).toEqual([0, ["preflight: <dir>/wrangler.toml is ready to deploy, 7 secrets set"]]);
    expect(calls).toEqual(["secret list --format json --config <dir>/wrangler.toml"]);
  });

  it("names each secret that is not set, ADMIN_TOKEN included (unless --no-admin)", () => {
    const missing = ALL_SECRETS.filter((s) => s !== "CABITAL_SECRET" && s !== "ADMIN_TOKEN");
    const { status, lines } = preflight(workspace(filled, missing));
    expect(status).toBe(1);
    expect(lines).toEqual([
      "preflight: secret ADMIN_TOKEN is not set: the operator API would be off; `npx wrangler secret put ADMIN_TOKEN` (16+ characters), or --no-admin",
      "preflight: secret CABITAL_SECRET is not set: `npx wrangler secret put CABITAL_SECRET`",
      "preflight: 2 problem(s) in <dir>/wrangler.toml: fix them before deploying",
    ]);
    expect(preflight(workspace(filled, [...missing, "CABITAL_SECRET"]), "--no-admin").status).toBe(0);
  });

  it("fails on a D1 database without a database_id", () => {
    const dir = workspace((t) => filled(t).replace(/^database_id = .*\n/m, ""));
    const { status, lines } = preflight(dir);
    expect(status).toBe(1);
    expect(lines).toEqual([
      "preflight: D1 database INDEX_DB has no database_id: run `npm run setup` or `npx wrangler d1 create webhook-gateway-index` and put its database_id in the config",
      "preflight: 1 problem(s) in <dir>/wrangler.toml: fix them before deploying",
    ]);
  });

  it("fails on a configuration nothing could reach, and on an origin that is not https", () => {
    const dir = workspace((t) =>
      filled(t)
        .replace(/^workers_dev = true.*$/m, "workers_dev = false")
        .replace("https://payments.acme-pay.io", "http://payments.acme-pay.io"),
    );
    const { status, lines } = preflight(dir);
    expect(status).toBe(1);
    expect(lines).toEqual([
      "preflight: no URL would answer: workers_dev = false and no route; set workers_dev = true (a *.workers.dev URL) or add a route (docs/deploy.md)",
      "preflight: ORIGIN_URL must be https in production, not http://payments.acme-pay.io",
      "preflight: 2 problem(s) in <dir>/wrangler.toml: fix them before deploying",
    ]);
  });

  it("fails on one Cloudflare Access setting without the other (the gateway would refuse every /admin/* and /console* request)", async () => {
    const { checkConfig } = await import("../../scripts/preflight.mjs");
    const vars = { ORIGIN_URL: "https://o.acme-pay.io/h", SOURCES: { k: { provider: "killb", secrets: ["K"] } } };
    const problems = (extra: Record<string, string>, secretNames?: string[]) =>
      checkConfig({ kv_namespaces: [], workers_dev: true, vars: { ...vars, ...extra } }, secretNames === undefined ? {} : { secretNames })
        .problems;
    const team = "https://acme.cloudflareaccess.com";
    expect(problems({ ACCESS_TEAM_DOMAIN: team })).toEqual([
      "ACCESS_TEAM_DOMAIN is set but ACCESS_AUD is not: set both or neither (one alone makes the gateway refuse every /admin/* and /console* request)",
    ]);
    expect(problems({ ACCESS_AUD: "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2" })).toEqual([
      "ACCESS_AUD is set but ACCESS_TEAM_DOMAIN is not: set both or neither (one alone makes the gateway refuse every /admin/* and /console* request)",
    ]);
    expect([
      problems({}),
      problems({ ACCESS_TEAM_DOMAIN: team, ACCESS_AUD: "aud" }),
      problems({ ACCESS_TEAM_DOMAIN: team }, ["ORIGIN_SECRET", "ADMIN_TOKEN", "K", "ACCESS_AUD"]),
    ]).toEqual([
      [],
      [],
      // Set as a secret instead of a var: the Worker reads it all the same.
      [],
    ]);
    // As a user runs it, on the committed example with the team domain uncommented.
    const dir = workspace((t) => filled(t).replace("# ACCESS_TEAM_DOMAIN =", "ACCESS_TEAM_DOMAIN ="));
    const { status, lines } = preflight(dir);
    expect([status, lines]).toEqual([
      1,
      [
        "preflight: ACCESS_TEAM_DOMAIN is set but ACCESS_AUD is not: set both or neither (one alone makes the gateway refuse every /admin/* and /console* request)",
        "preflight: 1 problem(s) in <dir>/wrangler.toml: fix them before deploying",
      ],
    ]);
  });

  it("reads SOURCES as the gateway does: CYBAVO wallet secrets are checked, a JSON string is read, per-source origins replace ORIGIN_URL", async () => {
    const { checkConfig } = await import("../../scripts/preflight.mjs");
    const base = { kv_namespaces: [], workers_dev: true };
    const wallets = checkConfig(
      { ...base, vars: { ORIGIN_URL: "https://o.acme-pay.io/h", SOURCES: { w: { provider: "cybavo", walletSecrets: { "5": ["S5"] } } } } },
      { secretNames: ["ORIGIN_SECRET", "ADMIN_TOKEN"] },
    );
    expect(wallets.problems).toEqual(["secret S5 is not set: `npx wrangler secret put S5`"]);
    const json = checkConfig({
      ...base,
      vars: { ORIGIN_URL: "https://o.acme-pay.io/h", SOURCES: JSON.stringify({ k: { provider: "killb", secrets: ["K"] } }) },
    });
    expect([json.problems, json.secrets]).toEqual([[], ["ORIGIN_SECRET", "ADMIN_TOKEN", "K"]]);
    const own = checkConfig({ ...base, vars: { SOURCES: { k: { provider: "killb", secrets: ["K"], origin: "http://o.acme-pay.io/h" } } } });
    expect(own.problems).toEqual(["source k's origin must be https in production, not http://o.acme-pay.io"]);
  });
});
