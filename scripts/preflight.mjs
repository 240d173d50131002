// `npm run preflight`: checks the deploy configuration before `wrangler deploy` (`npm run deploy`
// runs it first) and prints one line per problem, then exits 1 if there is any:
//   - a KV namespace without an id, or with the example placeholder id;
//   - a D1 database (the operators' index) without a database_id, or with the example one;
//   - no URL that answers: `workers_dev = false` and no route;
//   - ORIGIN_URL missing, not https, or the example placeholder;
//   - SOURCES missing or a source that names no secret list;
//   - a source's originCertificate that is not an [[mtls_certificates]] binding;
//   - one of ACCESS_TEAM_DOMAIN and ACCESS_AUD without the other (a var, or a secret when listed);
//   - a secret the configuration names (each source's, its originSecret / originSigningKey,
//     ORIGIN_SECRET when a source signs with the defaults and ORIGIN_SIGNING_KEY is not set,
//     ADMIN_TOKEN) that is not set on the Worker, read with `wrangler secret list` (needs
//     `npx wrangler login`).
// Options: --config <file> (default wrangler.toml), --env <name> (a wrangler environment),
// --allow-placeholders (CI: the committed example's placeholders are notes, not problems, and
// secrets are not checked: CI has no Cloudflare account), --skip-secrets, --no-admin (deploy
// without the operator API: ADMIN_TOKEN may be unset). WRANGLER_BIN runs another wrangler for
// `secret list` (the tests use a stand-in).
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { unstable_readConfig } from "wrangler";
import { runWrangler } from "./lib/wrangler.mjs";

/** The example ids in the committed wrangler.toml. */
const PLACEHOLDER_ID = /^0{31}[0-9]$/;
const PLACEHOLDER_DATABASE_ID = /^0{8}-0{4}-0{4}-0{4}-0{11}[0-9]$/;
const PLACEHOLDER_HOST = /(^|\.)example\.(com|org|net)$/;

/**
 * Problems and notes for a configuration (as `unstable_readConfig` reads it). `secretNames` is
 * the list of secrets set on the Worker, or undefined when they are not checked.
 */
export function checkConfig(config, { allowPlaceholders = false, noAdmin = false, secretNames } = {}) {
  const problems = [];
  const notes = [];
  const placeholder = (line) => (allowPlaceholders ? notes : problems).push(line);

  for (const kv of config.kv_namespaces ?? []) {
    if (!kv.id)
      problems.push(
        `KV namespace ${kv.binding} has no id: run \`npx wrangler kv namespace create ${kv.binding}\` and put its id in the config`,
      );
    else if (PLACEHOLDER_ID.test(kv.id))
      placeholder(
        `KV namespace ${kv.binding} has the example id ${kv.id}: run \`npx wrangler kv namespace create ${kv.binding}\` and put its id in the config`,
      );
  }

  for (const d1 of config.d1_databases ?? []) {
    const create = `run \`npm run setup\` or \`npx wrangler d1 create ${d1.database_name ?? `${config.name}-index`}\` and put its database_id in the config`;
    if (!d1.database_id) problems.push(`D1 database ${d1.binding} has no database_id: ${create}`);
    else if (PLACEHOLDER_DATABASE_ID.test(d1.database_id))
      placeholder(`D1 database ${d1.binding} has the example database_id ${d1.database_id}: ${create}`);
  }

  const routes = [...(config.routes ?? []), ...(config.route ? [config.route] : [])];
  if (config.workers_dev === false && routes.length === 0) {
    problems.push(
      "no URL would answer: workers_dev = false and no route; set workers_dev = true (a *.workers.dev URL) or add a route (docs/deploy.md)",
    );
  }

  const vars = config.vars ?? {};
  // SOURCES as the gateway reads it: a TOML table, or a JSON string (src/config.ts).
  let sources = vars.SOURCES;
  if (typeof sources === "string") {
    try {
      sources = JSON.parse(sources);
    } catch {
      problems.push("SOURCES is not valid JSON");
      sources = undefined;
    }
  }
  const checkOrigin = (value, where, hint) => {
    const origin = typeof value === "string" ? URL.parse(value) : null;
    if (origin === null) problems.push(`${where} is missing or not a URL: ${hint}`);
    else if (origin.protocol !== "https:") problems.push(`${where} must be https in production, not ${origin.protocol}//${origin.host}`);
    else if (PLACEHOLDER_HOST.test(origin.hostname)) placeholder(`${where} is the example ${origin.origin}: ${hint}`);
  };
  // ORIGIN_URL is the default origin: needed unless every source names its own `origin`.
  const entries = sources !== null && typeof sources === "object" ? Object.entries(sources) : [];
  if (vars.ORIGIN_URL !== undefined || entries.length === 0 || entries.some(([, source]) => source?.origin === undefined)) {
    checkOrigin(vars.ORIGIN_URL, "ORIGIN_URL", "set it in [vars] to your origin's https endpoint");
  }
  for (const [name, source] of entries) {
    if (source?.origin !== undefined) checkOrigin(source.origin, `source ${name}'s origin`, "set it to that origin's https endpoint");
  }

  // Cloudflare Access: with one setting alone the gateway refuses every /admin/* and /console* request.
  const isSet = (name) => (typeof vars[name] === "string" && vars[name] !== "") || (secretNames ?? []).includes(name);
  for (const [name, other] of [
    ["ACCESS_TEAM_DOMAIN", "ACCESS_AUD"],
    ["ACCESS_AUD", "ACCESS_TEAM_DOMAIN"],
  ]) {
    if (isSet(name) && !isSet(other))
      problems.push(
        `${name} is set but ${other} is not: set both or neither (one alone makes the gateway refuse every /admin/* and /console* request)`,
      );
  }

  // Signing (docs/configuration.md "Signing and destinations"): a source that names originSecret
  // or originSigningKey signs with those secrets only; the others with the defaults, which need
  // ORIGIN_SECRET unless ORIGIN_SIGNING_KEY is set (it can only be seen when the secrets are listed).
  const bindingList = (names) => (names === undefined ? [] : Array.isArray(names) ? names : [names]);
  const ownKeys = (source) => [...bindingList(source?.originSecret), ...bindingList(source?.originSigningKey)];
  const onDefaults = entries.length === 0 || entries.some(([, source]) => ownKeys(source).length === 0);
  const signingKeySet = (secretNames ?? []).includes("ORIGIN_SIGNING_KEY");
  const wanted = new Set([...(onDefaults && !signingKeySet ? ["ORIGIN_SECRET"] : []), ...(noAdmin ? [] : ["ADMIN_TOKEN"])]);
  const certificates = new Set((config.mtls_certificates ?? []).map((certificate) => certificate.binding));
  for (const [name, source] of entries) {
    const certificate = source?.originCertificate;
    if (certificate !== undefined && !certificates.has(certificate)) {
      problems.push(
        `source ${name}'s originCertificate names ${certificate}, which is not an [[mtls_certificates]] binding: \`npx wrangler mtls-certificate upload\` and declare it (docs/deploy.md)`,
      );
    }
  }
  if (entries.length === 0) {
    problems.push("SOURCES is missing or empty: define at least one source in [vars.SOURCES] (docs/configuration.md)");
  }
  for (const [name, source] of entries) {
    // Its secrets list, and a CYBAVO source's per-wallet secret bindings (`walletSecrets`).
    const named = [...(Array.isArray(source?.secrets) ? source.secrets : []), ...Object.values(source?.walletSecrets ?? {}).flat()];
    // An rsa-sha256 Coins source verifies with a public key and names no secret.
    if (named.length === 0 && source?.scheme !== "rsa-sha256") problems.push(`source ${name} names no secrets`);
    for (const secret of [...named, ...ownKeys(source)]) wanted.add(secret);
  }

  if (secretNames !== undefined) {
    const set = new Set(secretNames);
    for (const secret of wanted) {
      if (set.has(secret)) continue;
      problems.push(
        secret === "ADMIN_TOKEN"
          ? "secret ADMIN_TOKEN is not set: the operator API would be off; `npx wrangler secret put ADMIN_TOKEN` (16+ characters), or --no-admin"
          : secret === "ORIGIN_SECRET"
            ? "secret ORIGIN_SECRET is not set: `npx wrangler secret put ORIGIN_SECRET` (or ORIGIN_SIGNING_KEY for v1a signatures: docs/configuration.md)"
            : `secret ${secret} is not set: \`npx wrangler secret put ${secret}\``,
      );
    }
  }
  return { problems, notes, secrets: [...wanted] };
}

/** The secret names set on the Worker, from `wrangler secret list --format json`; throws with wrangler's first error line. */
export function listSecrets({ config, env }) {
  const output = runWrangler(["secret", "list", "--format", "json", "--config", config, ...(env ? ["--env", env] : [])]);
  return JSON.parse(output).map((secret) => secret.name);
}

function main() {
  const { values } = parseArgs({
    options: {
      config: { type: "string", default: "wrangler.toml" },
      env: { type: "string" },
      "allow-placeholders": { type: "boolean", default: false },
      "skip-secrets": { type: "boolean", default: false },
      "no-admin": { type: "boolean", default: false },
    },
  });
  const config = unstable_readConfig({ config: values.config, ...(values.env && { env: values.env }) }, { hideWarnings: true });
  const checkSecrets = !values["skip-secrets"] && !values["allow-placeholders"];
  let secretNames;
  const problems = [];
  if (checkSecrets) {
    try {
      secretNames = listSecrets({ config: values.config, env: values.env });
    } catch (err) {
      problems.push(`cannot list the Worker's secrets (${err.message}): run \`npx wrangler login\`, or --skip-secrets to check the rest`);
    }
  }
  const result = checkConfig(config, { allowPlaceholders: values["allow-placeholders"], noAdmin: values["no-admin"], secretNames });
  problems.push(...result.problems);
  for (const note of result.notes) console.log(`preflight: note: ${note}`);
  for (const problem of problems) console.error(`preflight: ${problem}`);
  const checked = checkSecrets && secretNames !== undefined ? `, ${result.secrets.length} secrets set` : " (secrets not checked)";
  if (problems.length > 0) {
    console.error(
      `preflight: ${problems.length} problem(s) in ${values.config}${values.env ? ` [env ${values.env}]` : ""}: fix them before deploying`,
    );
    process.exit(1);
  }
  console.log(`preflight: ${values.config}${values.env ? ` [env ${values.env}]` : ""} is ready to deploy${checked}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
