// `npm run setup`: the first deploy's preparation, with wrangler, on your Cloudflare account.
// It says what it needs before doing anything, then:
//   1. checks you are logged in (`wrangler whoami`);
//   2. gives each KV namespace the configuration binds (SEEN, OPS_INDEX) a real id: an existing
//      namespace titled `<worker>-<binding>` is reused, otherwise it is created
//      (`wrangler kv namespace create`), and its id is written into the config file;
//   3. does the same for each D1 database (INDEX_DB, the operators' index): an existing database
//      with the block's `database_name` (`<worker>-index`) is reused (`wrangler d1 list`),
//      otherwise it is created (`wrangler d1 create`), and its database_id is written in place
//      (its tables come from `npm run deploy`, which applies migrations/ first);
//   4. sets every secret the configuration names and the Worker does not have yet
//      (`wrangler secret put NAME`: wrangler asks you for the value);
//   5. runs the preflight (scripts/preflight.mjs) on the result.
// Running it again changes nothing that is already done: ids already set are kept, namespaces
// and databases are found before they are created, secrets already set are not asked for.
// Options: --config <file> (default wrangler.toml), --env <name>. WRANGLER_BIN runs another
// wrangler (the tests use a stand-in that records the commands).
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { unstable_readConfig } from "wrangler";
import { runWrangler } from "./lib/wrangler.mjs";
import { checkConfig, listSecrets } from "./preflight.mjs";

const PLACEHOLDER_ID = /^0{31}[0-9]$/;
const PLACEHOLDER_DATABASE_ID = /^0{8}-0{4}-0{4}-0{4}-0{11}[0-9]$/;

/** Writes `id` into the `[[kv_namespaces]]` block whose binding is `binding`, keeping every other line (and comment) as it is. */
export function writeNamespaceId(toml, binding, id) {
  const block = new RegExp(`(\\[\\[kv_namespaces\\]\\]\\s*\\nbinding = "${binding}"\\s*\\nid = )"[^"]*"`);
  if (!block.test(toml)) throw new Error(`no [[kv_namespaces]] block with binding = "${binding}" followed by its id line`);
  return toml.replace(block, `$1"${id}"`);
}

/** Writes `id` as the database_id of the `[[d1_databases]]` block whose binding is `binding`, keeping every other line (and comment). */
export function writeDatabaseId(toml, binding, id) {
  const block = new RegExp(`(\\[\\[d1_databases\\]\\]\\s*\\nbinding = "${binding}"\\s*\\n(?:[^\\[\\n][^\\n]*\\n)*?database_id = )"[^"]*"`);
  if (!block.test(toml)) throw new Error(`no [[d1_databases]] block with binding = "${binding}" and a database_id line`);
  return toml.replace(block, `$1"${id}"`);
}

function main() {
  const { values } = parseArgs({ options: { config: { type: "string", default: "wrangler.toml" }, env: { type: "string" } } });
  const file = values.config;
  const envArgs = values.env ? ["--env", values.env] : [];
  console.log(
    "npm run setup prepares a deploy on your Cloudflare account with wrangler: KV namespaces and the D1 database (created if missing), their ids written into " +
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
  // An environment's namespaces and databases are declared in its own block, in a form this
  // script does not rewrite: it finds or creates them, and prints the ids to put there (never
  // into the top level).
  const original = values.env ? undefined : readFileSync(file, "utf8");
  let toml = original;
  const forEnv = [];
  const missing = (config.kv_namespaces ?? []).filter((kv) => !kv.id || PLACEHOLDER_ID.test(kv.id));
  if (missing.length > 0) {
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
      if (toml === undefined) forEnv.push(`id = "${found.id}" for ${kv.binding}`);
      else toml = writeNamespaceId(toml, kv.binding, found.id);
    }
  } else console.log("setup: KV namespace ids already set");

  const databases = (config.d1_databases ?? []).filter((d1) => !d1.database_id || PLACEHOLDER_DATABASE_ID.test(d1.database_id));
  if (databases.length > 0) {
    const listDatabases = () => JSON.parse(runWrangler(["d1", "list", "--json", "--config", file]));
    let known = listDatabases();
    for (const d1 of databases) {
      const name = d1.database_name ?? `${config.name}-index`;
      let found = known.find((db) => db.name === name);
      if (found === undefined) {
        runWrangler(["d1", "create", name, "--config", file, ...envArgs]);
        known = listDatabases();
        found = known.find((db) => db.name === name);
        if (found === undefined) throw new Error(`setup: created D1 database "${name}" but cannot find it in wrangler d1 list`);
        console.log(`setup: created D1 database ${name} (${found.uuid}) for ${d1.binding}`);
      } else console.log(`setup: reusing D1 database ${name} (${found.uuid}) for ${d1.binding}`);
      if (toml === undefined) forEnv.push(`database_id = "${found.uuid}" for ${d1.binding}`);
      else toml = writeDatabaseId(toml, d1.binding, found.uuid);
    }
  } else console.log("setup: D1 database ids already set");

  if (toml !== original) {
    writeFileSync(file, toml);
    console.log(`setup: wrote the ids into ${file}`);
  }
  if (forEnv.length > 0) {
    for (const line of forEnv) console.log(`setup: put ${line} in [env.${values.env}] of ${file}`);
    console.error(`setup: put the ids above into [env.${values.env}] of ${file}, then run npm run setup -- --env ${values.env} again`);
    process.exit(1);
  }

  const set = new Set(listSecrets({ config: file, env: values.env }));
  // Read with the secrets already set: ORIGIN_SIGNING_KEY set stands in for ORIGIN_SECRET.
  const wanted = checkConfig(config, { secretNames: [...set] }).secrets;
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
