// `npm run setup`: the first deploy's preparation, with wrangler, on your Cloudflare account.
// It says what it needs before doing anything, then:
//   1. checks you are logged in (`wrangler whoami`);
//   2. gives each KV namespace the configuration binds (SEEN, OPS_INDEX) a real id: an existing
//      namespace titled `<worker>-<binding>` is reused, otherwise it is created
//      (`wrangler kv namespace create`), and its id is written into the config file;
//   3. sets every secret the configuration names and the Worker does not have yet
//      (`wrangler secret put NAME`: wrangler asks you for the value);
//   4. runs the preflight (scripts/preflight.mjs) on the result.
// Running it again changes nothing that is already done: ids already set are kept, namespaces
// are found before they are created, secrets already set are not asked for.
// Options: --config <file> (default wrangler.toml), --env <name>. WRANGLER_BIN runs another
// wrangler (the tests use a stand-in that records the commands).
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { unstable_readConfig } from "wrangler";
import { runWrangler } from "./lib/wrangler.mjs";
import { checkConfig, listSecrets } from "./preflight.mjs";

const PLACEHOLDER_ID = /^0{31}[0-9]$/;

/** Writes `id` into the `[[kv_namespaces]]` block whose binding is `binding`, keeping every other line (and comment) as it is. */
export function writeNamespaceId(toml, binding, id) {
  const block = new RegExp(`(\\[\\[kv_namespaces\\]\\]\\s*\\nbinding = "${binding}"\\s*\\nid = )"[^"]*"`);
  if (!block.test(toml)) throw new Error(`no [[kv_namespaces]] block with binding = "${binding}" followed by its id line`);
  return toml.replace(block, `$1"${id}"`);
}

function main() {
  const { values } = parseArgs({ options: { config: { type: "string", default: "wrangler.toml" }, env: { type: "string" } } });
  const file = values.config;
  const envArgs = values.env ? ["--env", values.env] : [];
  console.log(
    "npm run setup prepares a deploy on your Cloudflare account with wrangler: KV namespaces (created if missing), their ids written into " +
      `${file}, and the secrets the configuration names (wrangler asks you for each value). It needs a Cloudflare account and \`npx wrangler login\`.`,
  );
  try {
    runWrangler(["whoami"]);
  } catch (err) {
    console.error(
      `setup: not logged in to Cloudflare (${err.message}): run \`npx wrangler login\`, then npm run setup again. Nothing was changed.`,
    );
    process.exit(1);
  }

  const config = unstable_readConfig({ config: file, ...(values.env && { env: values.env }) }, { hideWarnings: true });
  const missing = (config.kv_namespaces ?? []).filter((kv) => !kv.id || PLACEHOLDER_ID.test(kv.id));
  if (missing.length > 0) {
    // An environment's namespaces are declared in its own block, in a form this script does not
    // rewrite: it finds or creates them, and prints the ids to put there (never into the top level).
    let toml = values.env ? undefined : readFileSync(file, "utf8");
    const listNamespaces = () => JSON.parse(runWrangler(["kv", "namespace", "list", "--config", file]));
    let namespaces = listNamespaces();
    for (const kv of missing) {
      const name = `${config.name}-${kv.binding}`;
      const title = `${values.env ? `${values.env}-` : ""}${name}`;
      let found = namespaces.find((n) => n.title === title);
      if (found === undefined) {
        runWrangler(["kv", "namespace", "create", name, "--config", file, ...envArgs]);
        namespaces = listNamespaces();
        found = namespaces.find((n) => n.title === title);
        if (found === undefined) throw new Error(`setup: created KV namespace "${title}" but cannot find it in wrangler kv namespace list`);
        console.log(`setup: created KV namespace ${title} (${found.id}) for ${kv.binding}`);
      } else console.log(`setup: reusing KV namespace ${title} (${found.id}) for ${kv.binding}`);
      if (toml === undefined) console.log(`setup: put id = "${found.id}" for ${kv.binding} in [env.${values.env}] of ${file}`);
      else toml = writeNamespaceId(toml, kv.binding, found.id);
    }
    if (toml !== undefined) {
      writeFileSync(file, toml);
      console.log(`setup: wrote the KV namespace ids into ${file}`);
    } else {
      console.error(`setup: put the ids above into [env.${values.env}] of ${file}, then run npm run setup -- --env ${values.env} again`);
      process.exit(1);
    }
  } else console.log("setup: KV namespace ids already set");

  const wanted = checkConfig(config, {}).secrets;
  const set = new Set(listSecrets({ config: file, env: values.env }));
  const toSet = wanted.filter((name) => !set.has(name));
  console.log(
    `setup: the configuration names ${wanted.length} secrets: ${wanted.map((name) => `${name} (${set.has(name) ? "set" : "to set"})`).join(", ")}`,
  );
  if (toSet.length === 0) console.log(`setup: all ${wanted.length} secrets already set`);
  for (const name of toSet) {
    console.log(`setup: setting secret ${name}${name === "ADMIN_TOKEN" ? " (16+ characters: the operator API's bearer token)" : ""}`);
    runWrangler(["secret", "put", name, "--config", file, ...envArgs], { inherit: true });
  }

  const after = checkConfig(unstable_readConfig({ config: file, ...(values.env && { env: values.env }) }, { hideWarnings: true }), {
    secretNames: listSecrets({ config: file, env: values.env }),
  });
  for (const problem of after.problems) console.error(`setup: still to do: ${problem}`);
  if (after.problems.length > 0) process.exit(1);
  console.log("setup: done; `npm run deploy` deploys (docs/deploy.md)");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
