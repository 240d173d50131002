// `npm start`: the gateway on local workerd (wrangler dev, with KV, D1 and Durable Object
// storage persisted in .wrangler/state) plus a local demo origin that verifies every event with
// the official `standardwebhooks` package and prints it. Ctrl-C stops both. Before wrangler dev
// starts, the operators' index (D1) gets the migrations/ it lacks, as `npm run deploy` applies
// them remotely, so a fresh clone's first request finds its tables.
import { spawn } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { readDevVars, root } from "./lib/dev-vars.mjs";
import { runWrangler } from "./lib/wrangler.mjs";
import { startOrigin } from "./origin.mjs";

const { values } = parseArgs({ options: { port: { type: "string", default: "8787" } } });

const devVars = new URL(".dev.vars", root);
if (!existsSync(devVars)) {
  copyFileSync(new URL(".dev.vars.example", root), devVars);
  console.log("created .dev.vars from .dev.vars.example (local development values only)");
}
const vars = readDevVars();
const originUrl = new URL(vars.ORIGIN_URL);

const dim = (s) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);
const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

function printEvent(event) {
  const { payload, ...data } = event.json.data;
  const money = data.amount ?? data.balance;
  const amount = money ? ` ${money.value} ${money.currency}` : "";
  console.log(
    `\n${bold("origin ✔ verified")} ${event.id} ${event.json.type} ${event.json.source} subject=${event.json.subject} → ${data.status ?? data.eventType ?? "(no status)"}${amount}`,
  );
  console.log(dim(JSON.stringify({ ...event.json, data: { ...data, payload: "(provider's original JSON, unchanged)" } }, null, 2)));
}

/** Ends with one line that says which port is taken and how to choose another, not a stack trace. */
function portTaken(port, what, howToChange) {
  console.error(`npm start: port ${port} (${what}) is already in use: stop what holds it (another npm start?) or ${howToChange}`);
  process.exit(1);
}

/** Whether a TCP port can be listened on (the gateway's, checked before wrangler starts). */
function portFree(port, host) {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(Number(port), host, () => probe.close(() => resolve(true)));
  });
}

if (!(await portFree(values.port, "127.0.0.1"))) portTaken(values.port, "the gateway", "choose another: npm start -- --port 8790");
const origin = await startOrigin({
  port: Number(originUrl.port),
  host: originUrl.hostname,
  secret: vars.ORIGIN_SECRET,
  onEvent: printEvent,
  onInvalid: (err) => console.log(`origin ✘ rejected a delivery: ${err.message}`),
}).catch((err) => {
  if (err.code === "EADDRINUSE") portTaken(originUrl.port, "the demo origin", "set another port in ORIGIN_URL in .dev.vars, then restart");
  throw err;
});
console.log(`demo origin listening on ${origin.url}${originUrl.pathname}`);

const wrangler = fileURLToPath(new URL("node_modules/wrangler/bin/wrangler.js", root));
const persistTo = ".wrangler/state";
// The same database wrangler dev opens (same config, same --persist-to); quiet when nothing was
// to apply. Not interactive, so wrangler applies without asking.
try {
  const applied = runWrangler(
    [
      "d1",
      "migrations",
      "apply",
      "INDEX_DB",
      "--local",
      "--persist-to",
      fileURLToPath(new URL(persistTo, root)),
      "--config",
      fileURLToPath(new URL("wrangler.toml", root)),
    ],
    { env: { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" } },
  );
  if (!applied.includes("No migrations to apply")) console.log("applied migrations/ to the local index database (D1, in .wrangler/state)");
} catch (err) {
  console.error(`npm start: could not apply migrations/ to the local index database: ${err.message}`);
  origin.close();
  process.exit(1);
}
const gateway = spawn(
  process.execPath,
  [wrangler, "dev", "--ip", "127.0.0.1", "--port", values.port, "--persist-to", persistTo, "--show-interactive-dev-session=false"],
  {
    cwd: fileURLToPath(root),
    stdio: "inherit",
    // Quiet when all is well (each can be overridden from the shell): no banner (wrangler's
    // version line and its npm update check: the version is pinned in package-lock.json), no
    // telemetry notice, and no download of the `Request.cf` sample, which the gateway never
    // reads (offline it prints a stack trace). Wrangler's warnings and errors still show.
    env: { WRANGLER_HIDE_BANNER: "true", WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", ...process.env },
  },
);
console.log(`gateway starting on http://127.0.0.1:${values.port}  (try: npm run send -- cregis payout-succeeded)`);

const stop = () => {
  gateway.kill("SIGINT");
  origin.close();
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
gateway.on("exit", (code) => {
  origin.close();
  process.exit(code ?? 0);
});
