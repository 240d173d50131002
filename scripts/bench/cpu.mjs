// CPU per event: the pure path (verify + parse + validate + normalize) of each provider, in
// this Node process, against the official `standardwebhooks` package's Webhook.verify on a
// payload of the same size, measured in the same run. Prints JSON; scripts/bench/run.mjs
// calls it. Node's WebCrypto has no MD5, so Cregis runs on the module's own MD5 here (Workers
// use the native one).
import { performance } from "node:perf_hooks";
import { Webhook } from "standardwebhooks";
import { importTs } from "../lib/import-ts.mjs";
import { PROVIDERS, requests, SECRETS, SOURCES } from "./fixtures.mjs";

const ITERATIONS = Number(process.env.BENCH_CPU_ITERATIONS ?? 3000);
const WARMUP = 500;
const URL_BASE = "https://gateway.example/webhooks/";

const { sources, purePath } = await importTs("scripts/bench/pure-path.ts");
const configured = sources({ ...SECRETS, SOURCES, ORIGIN_URL: "https://origin.example/" });

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Median µs of `run(i)` over ITERATIONS, after a warm-up. */
async function time(run) {
  for (let i = 0; i < WARMUP; i++) await run(i);
  const samples = new Array(ITERATIONS);
  for (let i = 0; i < ITERATIONS; i++) {
    const start = performance.now();
    await run(i);
    samples[i] = (performance.now() - start) * 1000;
  }
  return median(samples);
}

const results = [];
for (const provider of PROVIDERS) {
  const url = URL_BASE + provider;
  // Distinct signed requests (Cabital's carry nonces/timestamps; verification is stateless here).
  const signed = requests(provider, url, "new", 200);
  const prepared = signed.map((r) => ({
    body: new TextEncoder().encode(r.body),
    headers: new Headers(r.headers),
    method: "POST",
    url,
    now: Date.now(),
  }));
  const source = configured.get(provider);
  const gateway = await time((i) => purePath(source, prepared[i % prepared.length]));

  // The reference: standardwebhooks' verify of a same-size payload, same process, same run.
  const size = prepared[0].body.length;
  const payload = JSON.stringify({ data: "x".repeat(Math.max(0, size - 11)) });
  const wh = new Webhook(SECRETS.ORIGIN_SECRET);
  const msgId = "msg_bench";
  const ts = new Date();
  const headers = {
    "webhook-id": msgId,
    "webhook-timestamp": String(Math.floor(ts.getTime() / 1000)),
    "webhook-signature": wh.sign(msgId, ts, payload),
  };
  const reference = await time(() => wh.verify(payload, headers));
  results.push({ provider, bodyBytes: size, gatewayMedianUs: gateway, standardwebhooksMedianUs: reference, ratio: gateway / reference });
}
console.log(JSON.stringify({ iterations: ITERATIONS, node: process.version, results }, null, 2));
