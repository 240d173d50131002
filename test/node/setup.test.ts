/**
 * `npm run setup` (scripts/setup.mjs) against a local stand-in for wrangler that keeps its
 * namespaces, D1 databases and secrets in a file and records every command: the first run
 * creates what is missing and writes the ids into the config; the second changes nothing and
 * creates nothing.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));

/** A stand-in for the wrangler commands setup issues, with its state in state.json. */
const STANDIN = `import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
const dir = process.env.STANDIN_DIR;
const args = process.argv.slice(2);
appendFileSync(dir + "/calls.txt", args.join(" ").replaceAll(dir, "<dir>") + "\\n");
const state = JSON.parse(readFileSync(dir + "/state.json", "utf8"));
const save = () => writeFileSync(dir + "/state.json", JSON.stringify(state));
const [a, b, c] = args;
if (a === "whoami") console.log("You are logged in");
else if (a === "kv" && b === "namespace" && c === "list") console.log(JSON.stringify(state.namespaces));
else if (a === "kv" && b === "namespace" && c === "create") {
  state.namespaces.push({ id: String(state.namespaces.length + 1).padStart(32, "a"), title: args[3] });
  save();
} else if (a === "d1" && b === "list" && c === "--json") console.log(JSON.stringify(state.databases ?? []));
else if (a === "d1" && b === "create") {
  state.databases = state.databases ?? [];
  state.databases.push({ uuid: "d1d1d1d1-0000-4000-8000-" + String(state.databases.length + 1).padStart(12, "0"), name: c });
  save();
} else if (a === "secret" && b === "list") console.log(JSON.stringify(state.secrets.map((name) => ({ name, type: "secret_text" }))));
else if (a === "secret" && b === "put") { state.secrets.push(c); save(); }
else { console.error("unexpected: " + args.join(" ")); process.exit(2); }
`;

function workspace(existing: {
  namespaces: { id: string; title: string }[];
  secrets: string[];
  databases?: { uuid: string; name: string }[];
}) {
  const dir = mkdtempSync(join(tmpdir(), "setup-"));
  const toml = readFileSync(join(root, "wrangler.toml"), "utf8")
    .replace('main = "src/index.ts"', `main = "${join(root, "src/index.ts")}"`)
    .replace("https://origin.example.com/webhooks/gateway", "https://payments.acme-pay.io/webhooks/gateway");
  writeFileSync(join(dir, "wrangler.toml"), toml);
  writeFileSync(join(dir, "wrangler-standin.mjs"), STANDIN);
  writeFileSync(join(dir, "state.json"), JSON.stringify(existing));
  writeFileSync(join(dir, "calls.txt"), "");
  return dir;
}

function setup(dir: string) {
  writeFileSync(join(dir, "calls.txt"), "");
  const run = spawnSync(process.execPath, [join(root, "scripts/setup.mjs"), "--config", join(dir, "wrangler.toml")], {
    encoding: "utf8",
    cwd: dir,
    env: { ...process.env, WRANGLER_BIN: join(dir, "wrangler-standin.mjs"), STANDIN_DIR: dir },
  });
  return {
    status: run.status,
    output: `${run.stdout}${run.stderr}`,
    calls: readFileSync(join(dir, "calls.txt"), "utf8").trim().split("\n").filter(Boolean),
    toml: readFileSync(join(dir, "wrangler.toml"), "utf8"),
  };
}

/** The KV bindings the committed configuration declares, in order (each gets a namespace). */
const KV_BINDINGS = [...readFileSync(join(root, "wrangler.toml"), "utf8").matchAll(/\[\[kv_namespaces\]\]\s*\nbinding = "(\w+)"/g)].map(
  (m) => m[1]!,
);

const SECRETS = [
  "ORIGIN_SECRET",
  "ADMIN_TOKEN",
  "CYBAVO_API_SECRET",
  "CREGIS_API_KEY",
  "KILLB_WEBHOOK_SECRET",
  "CABITAL_SECRET",
  "COINS_MERCHANT_SECRET",
];

describe("npm run setup", () => {
  it("creates what is missing, writes the ids, sets the secrets; a second run changes nothing", () => {
    const dir = workspace({ namespaces: [{ id: "f".repeat(32), title: "another-project-SEEN" }], secrets: ["ORIGIN_SECRET"] });
    const first = setup(dir);
    expect(first.status, first.output).toBe(0);
    expect(KV_BINDINGS[0]).toBe("SEEN");
    expect(first.calls).toEqual([
      "whoami",
      "kv namespace list --config <dir>/wrangler.toml",
      ...KV_BINDINGS.flatMap((b) => [
        `kv namespace create webhook-gateway-${b} --config <dir>/wrangler.toml`,
        "kv namespace list --config <dir>/wrangler.toml",
      ]),
      "d1 list --json --config <dir>/wrangler.toml",
      "d1 create webhook-gateway-index --config <dir>/wrangler.toml",
      "d1 list --json --config <dir>/wrangler.toml",
      "secret list --format json --config <dir>/wrangler.toml",
      ...SECRETS.filter((s) => s !== "ORIGIN_SECRET").map((s) => `secret put ${s} --config <dir>/wrangler.toml`),
      "secret list --format json --config <dir>/wrangler.toml",
    ]);
    // The ids are the created namespaces', in their blocks; every other line is as it was.
    KV_BINDINGS.forEach((b, i) => {
      expect(first.toml).toContain(`binding = "${b}"\nid = "${String(i + 2).padStart(32, "a")}"`);
    });
    expect(first.toml).toContain('database_name = "webhook-gateway-index"\ndatabase_id = "d1d1d1d1-0000-4000-8000-000000000001"');
    expect(first.toml.split("\n").length).toBe(readFileSync(join(root, "wrangler.toml"), "utf8").split("\n").length);
    expect(first.output).toContain("setup: done");

    const second = setup(dir);
    expect(second.status, second.output).toBe(0);
    expect(second.calls).toEqual([
      "whoami",
      "secret list --format json --config <dir>/wrangler.toml",
      "secret list --format json --config <dir>/wrangler.toml",
    ]);
    expect(second.toml).toBe(first.toml);
    expect(second.output).toContain("setup: KV namespace ids already set");
    expect(second.output).toContain("setup: D1 database ids already set");
    expect(second.output).toContain("setup: all 7 secrets already set");
  });

  it("reuses a namespace and a database an earlier, interrupted run created instead of creating others", () => {
    const database = { uuid: "0f0e0d0c-0b0a-4909-8807-060504030201", name: "webhook-gateway-index" };
    const dir = workspace({ namespaces: [{ id: "b".repeat(32), title: "webhook-gateway-SEEN" }], secrets: SECRETS, databases: [database] });
    const run = setup(dir);
    expect(run.status, run.output).toBe(0);
    expect(run.calls.filter((c) => c.startsWith("kv namespace create") || c.startsWith("d1 create"))).toEqual(
      KV_BINDINGS.filter((b) => b !== "SEEN").map((b) => `kv namespace create webhook-gateway-${b} --config <dir>/wrangler.toml`),
    );
    expect(run.toml).toContain(`binding = "SEEN"\nid = "${"b".repeat(32)}"`);
    expect(run.toml).toContain(`database_id = "${database.uuid}"`);
    expect(run.output).toContain(`setup: reusing D1 database webhook-gateway-index (${database.uuid}) for INDEX_DB`);
  });

  it("says it needs a Cloudflare login and changes nothing when wrangler is not logged in", () => {
    const dir = workspace({ namespaces: [], secrets: [] });
    writeFileSync(
      join(dir, "wrangler-standin.mjs"),
      `console.error("You are not authenticated. Please run wrangler login."); process.exit(1);`,
    );
    const before = readFileSync(join(dir, "wrangler.toml"), "utf8");
    const run = setup(dir);
    expect(run.status).toBe(1);
    expect(run.output).toContain("needs a Cloudflare account");
    expect(run.output).toContain("setup: not logged in to Cloudflare");
    expect(run.toml).toBe(before);
  });
});
