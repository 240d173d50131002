// `npm run bench`, section 9: the delivery ceiling (origin protection, docs/operations.md), in
// real time. Alone: `BENCH_PROTECTION_ONLY=1 npm run bench`.
//
// One gateway with DESTINATION_MAX_PER_SECOND = 50 (RECOVERY_RAMP_SECONDS at its default: the
// ramp follows a breaker close, and nothing here opens the breaker, so the bucket starts full at
// full rate) delivers to the real local origin (scripts/origin.mjs, on 127.0.0.1, verifying
// every signature). 1,500 new CYBAVO events over 100 accounts are sent as fast as the gateway
// takes them; every account's outbox asks the one destination object for tokens (one `take` per
// run, one `report` when it ends). The origin records when each attempt arrives (wall clock,
// Unix ms). From those times:
//   - the drain's mean rate, from the first arrival to the last, and over its last 80 % (the
//     first fifth includes the bucket's initial second of tokens);
//   - the most attempts in any 1-s and any 10-s window, against the ceiling's bound: at most
//     rate x (w + GRANT_TTL) + capacity attempts start in any w seconds (capacity = one second of
//     tokens; a grant is spent within GRANT_TTL = 1 s of its arrival).
//     Arrival is a little after the start (the loopback request's own time), so a run that
//     bunches on the wire can show a window above the bound that its starts were not: a measured
//     maximum above the bound is reported as it is, not smoothed away;
//   - the destination requests per delivered event, from the gateway's `destination_requests`
//     counter (src/stats.ts).
// Real time throughout, not the tests' simulated clock (test/protection/ runs days in seconds).
import { startOrigin } from "../origin.mjs";
import { SECRETS } from "./fixtures.mjs";

/** src/destination/contract.ts GRANT_TTL_MS, in seconds: how long after its arrival a grant may be spent. */
const GRANT_TTL_S = 1;
const RATE = 50;
const EVENTS = 1500;
const ACCOUNTS = 100;
const FIRST_ACCOUNT = 11_000_001;
/** Longer than the drain can take at the ceiling (30 s) by far: a stall ends the section. */
const DRAIN_TIMEOUT_MS = 180_000;

/** The most arrivals in any window of `ms` (sliding over sorted times: each window starts at an arrival). */
export function maxInWindow(times, ms) {
  let best = 0;
  let end = 0;
  for (let start = 0; start < times.length; start++) {
    while (end < times.length && times[end] < times[start] + ms) end++;
    best = Math.max(best, end - start);
  }
  return best;
}

/** Arrivals per second between the first and the last of `times` (sorted). */
export function meanRate(times) {
  if (times.length < 2) return 0;
  return (times.length - 1) / ((times.at(-1) - times[0]) / 1000);
}

/**
 * @param {object} h harness functions from run.mjs: startGateway(bindings, originUrl), requests,
 *   load, counters, waitFor, log
 */
export async function measureProtection(h) {
  const origin = await startOrigin({ secret: SECRETS.ORIGIN_SECRET });
  const gateway = await h.startGateway({ DESTINATION_MAX_PER_SECOND: String(RATE) }, origin.url);
  try {
    const provider = "cybavo";
    const url = `${gateway.url}/webhooks/${provider}`;
    const before = await h.counters(gateway, provider);
    const prepared = h.requests(provider, url, "new", EVENTS, ACCOUNTS, FIRST_ACCOUNT);
    const loadStart = Date.now();
    const ingest = await h.load(url, prepared, EVENTS);
    const ackedAt = Date.now();
    const allDelivered = await h.waitFor(() => origin.events.length >= EVENTS, DRAIN_TIMEOUT_MS);
    const deliveredAt = Date.now();
    // Every attempt the origin verified, with its arrival time (all answered 200 here).
    const attempts = await (await fetch(`${origin.url}/_attempts`)).json();
    const after = await h.counters(gateway, provider);
    const times = attempts.map((a) => a.at).sort((a, b) => a - b);
    const distinct = new Set(origin.events.map((e) => e.id)).size;
    const tail = times.slice(Math.floor(times.length * 0.2));
    const delta = (key) => (after[key] ?? 0) - (before[key] ?? 0);
    const delivered = delta("delivered");
    const capacity = RATE;
    const result = {
      rate: RATE,
      capacity,
      events: EVENTS,
      accounts: ACCOUNTS,
      accepted: ingest.status["200"] ?? 0,
      ingestRps: ingest.rps,
      ackSeconds: (ackedAt - loadStart) / 1000,
      allDelivered,
      delivered: distinct,
      attempts: times.length,
      drainSeconds: times.length > 1 ? (times.at(-1) - times[0]) / 1000 : 0,
      firstArrivalAfterLoadMs: times.length > 0 ? times[0] - loadStart : null,
      lastArrivalAfterAckSeconds: times.length > 0 ? (times.at(-1) - ackedAt) / 1000 : null,
      waitedSeconds: (deliveredAt - loadStart) / 1000,
      meanRate: meanRate(times),
      meanRateLast80: meanRate(tail),
      // The whole drain as one window: the bound for its length, against every attempt.
      wholeDrain: {
        attempts: times.length,
        bound: times.length > 1 ? Math.floor(RATE * ((times.at(-1) - times[0]) / 1000 + GRANT_TTL_S) + capacity) : capacity,
      },
      windows: [1, 10].map((w) => {
        const max = maxInWindow(times, w * 1000);
        const bound = RATE * (w + GRANT_TTL_S) + capacity;
        return { seconds: w, max, bound, withinBound: max <= bound };
      }),
      counters: {
        delivered,
        destinationRequests: delta("destination_requests"),
        alarms: delta("alarms"),
      },
      destinationRequestsPerDelivered: delivered > 0 ? delta("destination_requests") / delivered : null,
      alarmsPerDelivered: delivered > 0 ? delta("alarms") / delivered : null,
    };
    h.log(
      `protection: ${distinct}/${EVENTS} delivered in ${result.drainSeconds.toFixed(1)} s, mean ${result.meanRate.toFixed(1)}/s (last 80 %: ${result.meanRateLast80.toFixed(1)}/s), max ${result.windows.map((w) => `${w.max}/${w.bound} in ${w.seconds} s`).join(", ")}, ${result.destinationRequestsPerDelivered?.toFixed(3)} destination requests per delivered event`,
    );
    return result;
  } finally {
    await gateway.mf.dispose();
    await origin.close();
  }
}
