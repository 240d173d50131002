// CPU per forged request, in workerd: for every signing scheme of every registered provider
// (and the option variants the catalogue adds: CYBAVO with per-wallet secrets, Cregis with
// canonical-json), the requests of ./forged-bodies.mjs (a genuine fixture with a wrong
// signature, the same unsigned, and each provider's hostile bodies) are posted to the gateway
// bundle on Miniflare, and the CPU time of the gateway's workerd process is read from Linux's
// per-thread accounting before and after. The same request is posted to the bare Worker (reads
// the body, answers 200) right before, the same way, as the baseline: what merely receiving
// that body costs workerd on this machine in this run.
//
// workerd cannot time itself (its clock stands still during computation), so the process is
// measured from outside: /proc/<pid>/task/*/schedstat, nanoseconds on CPU per thread.
//
// Used by scripts/bench/run.mjs; `node scripts/bench/forged.mjs` runs it alone (builds the
// bundle, prints a table and the JSON). BENCH_FORGED_ONLY (a regular expression over
// "source/case") measures some cases only, e.g. `BENCH_FORGED_ONLY=standard-webhooks node
// scripts/bench/forged.mjs`. To compare two versions of the gateway within one run,
// set BENCH_FORGED_PREVIOUS to the directory of another bundle (e.g. one built from an earlier
// commit with `wrangler deploy --dry-run --outdir <dir>`): it runs in a third workerd process,
// measured in the same alternating batches, and each case also reports `previousMs`.
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { applyLocalMigrations } from "../lib/local-d1.mjs";
import { DURABLE_OBJECTS } from "./fixtures.mjs";
import { BODY_CAP, forgedCatalogue } from "./forged-bodies.mjs";
import { cpuNs, newWorkerd, workerdChildren } from "./workerd-cpu.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
/**
 * One batch: at least this many requests and this much wall time; its mean is one sample. Each
 * case takes ROUNDS samples of the bare Worker and of the gateway, alternating: medians count.
 */
const MIN_REQUESTS = Number(process.env.BENCH_FORGED_REQUESTS ?? 8);
const MIN_MS = Number(process.env.BENCH_FORGED_MS ?? 400);
const ROUNDS = Number(process.env.BENCH_FORGED_ROUNDS ?? 3);
const WARMUP = 5;
/** Only the cases whose "source/name" matches (e.g. BENCH_FORGED_ONLY=cregis), for a quick look. */
const ONLY = process.env.BENCH_FORGED_ONLY ? new RegExp(process.env.BENCH_FORGED_ONLY) : undefined;
/** Standalone runs only: the directory of a second gateway bundle to measure alongside. */
const PREVIOUS = process.env.BENCH_FORGED_PREVIOUS;

/** The gateway's own secret: the measured requests never reach a delivery. */
const ORIGIN_SECRET = "whsec_YmVuY2gtb3JpZ2luLXNlY3JldC1mb3ItYmVuY2htYXJrcw==";

// --------------------------------------------------------------------------------------------
// The workerd process behind a Miniflare instance, and its CPU time

/** Starts Miniflare and finds the workerd process it spawned (a new child of this process). */
async function startMeasured(options) {
  const before = await workerdChildren();
  // Miniflare 5 takes a list of workers; the one-worker options convert as they are. The
  // gateway's log lines (one per request) are discarded, not printed by this process.
  const mf = new Miniflare(convertV4MiniflareOptions({ host: "127.0.0.1", port: 0, handleStructuredLogs: () => {}, ...options }));
  const url = (await mf.ready).toString().replace(/\/$/, "");
  return { mf, url, pid: await newWorkerd(before) };
}

// --------------------------------------------------------------------------------------------
// Measurement

async function send(url, request) {
  const response = await fetch(url, { method: "POST", headers: request.headers(), body: request.body });
  await response.arrayBuffer();
  return response.status;
}

/**
 * Mean CPU ms per request of `server` for `request` over one batch: requests are sent one at a
 * time (so nothing else runs in the process) until both MIN_REQUESTS and MIN_MS are reached.
 */
async function batch(server, url, request, statuses) {
  const start = await cpuNs(server.pid);
  const t0 = performance.now();
  let n = 0;
  while (n < MIN_REQUESTS || performance.now() - t0 < MIN_MS) {
    const status = await send(url, request);
    statuses[status] = (statuses[status] ?? 0) + 1;
    n++;
  }
  return { ms: ((await cpuNs(server.pid)) - start) / 1e6 / n, requests: n };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * One case: after a warm-up, ROUNDS batches to the bare Worker and the gateway (and the previous
 * gateway, if any), alternating.
 */
async function measureCase(gateway, bare, request, previous) {
  const gatewayUrl = `${gateway.url}/webhooks/${request.source}`;
  const bareUrl = `${bare.url}/`;
  const previousUrl = previous && `${previous.url}/webhooks/${request.source}`;
  for (let i = 0; i < WARMUP; i++) {
    await send(bareUrl, request);
    await send(gatewayUrl, request);
    if (previous) await send(previousUrl, request);
  }
  const statuses = {};
  const samples = { gateway: [], bare: [], ...(previous && { previous: [] }) };
  let requests = 0;
  for (let round = 0; round < ROUNDS; round++) {
    samples.bare.push((await batch(bare, bareUrl, request, {})).ms);
    const measured = await batch(gateway, gatewayUrl, request, statuses);
    samples.gateway.push(measured.ms);
    requests += measured.requests;
    if (previous) samples.previous.push((await batch(previous, previousUrl, request, {})).ms);
  }
  return {
    gatewayMs: median(samples.gateway),
    bareMs: median(samples.bare),
    ...(previous && { previousMs: median(samples.previous) }),
    samples,
    requests,
    statuses,
  };
}

/**
 * Runs the catalogue against the gateway bundle at `scriptPath` and a bare Worker. Returns
 * `{ cap, minRequests, minMs, rounds, warmup, cases: [{ source, provider, variant, name,
 * stresses, bytes, headerBytes, gatewayMs, bareMs, samples, requests, statuses }] }`.
 */
export async function measureForged({ scriptPath, modulesRoot, compatibilityDate, previousRoot, log = () => {} }) {
  const catalogue = forgedCatalogue();
  const sources = JSON.stringify(catalogue.sources);
  const startGateway = async (script, dir, current = true) => {
    const server = await startMeasured({
      modules: true,
      scriptPath: script,
      modulesRoot: dir,
      compatibilityDate,
      // OPS_INDEX: the KV index a bundle before the D1 index used (a `previousRoot` one).
      kvNamespaces: ["SEEN", "OPS_INDEX"],
      d1Databases: ["INDEX_DB"],
      // A `previousRoot` bundle may predate the bulk jobs' and destinations' classes: it gets
      // only the ledgers (forged requests never reach an outbox, so none of them is used).
      durableObjects: current ? DURABLE_OBJECTS : { LEDGER: DURABLE_OBJECTS.LEDGER },
      bindings: { ...catalogue.secrets, ORIGIN_SECRET, SOURCES: sources, ORIGIN_URL: "http://127.0.0.1:9/events" },
    });
    // Rejected requests are recorded in the index database (off the request path).
    await applyLocalMigrations(await server.mf.getD1Database("INDEX_DB"));
    return server;
  };
  const gateway = await startGateway(scriptPath, modulesRoot);
  const previous = previousRoot === undefined ? undefined : await startGateway(join(previousRoot, "index.js"), previousRoot, false);
  const bare = await startMeasured({
    modules: true,
    script: "export default { async fetch(request) { await request.arrayBuffer(); return new Response('ok'); } };",
    compatibilityDate,
  });
  const cases = [];
  try {
    for (const request of catalogue.requests) {
      if (ONLY !== undefined && !ONLY.test(`${request.source}/${request.name}`)) continue;
      const measured = await measureCase(gateway, bare, request, previous);
      const { body, headers, ...described } = request;
      const headerBytes = Object.entries(headers()).reduce((n, [name, value]) => n + name.length + value.length + 4, 0);
      cases.push({ ...described, bytes: Buffer.byteLength(body), headerBytes, ...measured });
      const versus = previous ? `, previous ${measured.previousMs.toFixed(2)}` : "";
      log(
        `forged ${request.source} ${request.name}: ${measured.gatewayMs.toFixed(2)} ms (bare ${measured.bareMs.toFixed(2)}${versus})`,
        JSON.stringify(measured.statuses),
      );
    }
  } finally {
    await gateway.mf.dispose();
    await bare.mf.dispose();
    await previous?.mf.dispose();
  }
  return { cap: BODY_CAP, minRequests: MIN_REQUESTS, minMs: MIN_MS, rounds: ROUNDS, warmup: WARMUP, cases };
}

// --------------------------------------------------------------------------------------------
// Alone: `node scripts/bench/forged.mjs`

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = await mkdtemp(join(tmpdir(), "bench-forged-"));
  try {
    execFileSync(process.execPath, [join(root, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", dir], {
      cwd: root,
      env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
      stdio: "ignore",
    });
    const toml = await readFile(join(root, "wrangler.toml"), "utf8");
    const compatibilityDate = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)[1];
    const result = await measureForged({
      scriptPath: join(dir, "index.js"),
      modulesRoot: dir,
      compatibilityDate,
      previousRoot: PREVIOUS,
      log: (...args) => console.error(...args),
    });
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
