// `npm run bench`, section 8: what the operators' D1 index (docs/console.md) costs the gateway.
//
// Two gateways from the same bundle run side by side, each with its own origin: one writes the
// index (INDEX_MODE "all", the default), the other does not ("off"). In ROUNDS paired rounds,
// each is loaded with new CYBAVO events over 100 accounts for ROUND_SECONDS, every accepted
// event delivered before the next measurement; the order alternates per round, and the ratio
// (index on / index off) is taken within each round, so the machine's drift between rounds
// cancels out. Then, on the index-on gateway:
//   - the D1 rows written per event, from the gateway's own counter (D1's batch `rows_written`),
//     in "all" mode over the rounds' events and in "attention" mode over 1,000 events on a third
//     gateway, priced at D1's list price;
//   - the index's lag under the sustained end-to-end load (3,000 events over 100 accounts, as
//     section 2): for each event, when its row was last written minus when the gateway received
//     it (`indexed_at - received_at`), and minus when it was delivered, read from the local D1.

const D1_USD_PER_MILLION_ROWS_WRITTEN = 1;

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/**
 * @param {object} h harness functions from run.mjs: startGateway(bindings, originUrl),
 *   startOrigin(), requests, measure, load, counters, drained, waitFor, pool, log, rounds,
 *   roundSeconds
 */
export async function measureIndex(h) {
  const originOn = await h.startOrigin();
  const originOff = await h.startOrigin();
  const on = await h.startGateway({ INDEX_MODE: "all" }, originOn.url);
  const off = await h.startGateway({ INDEX_MODE: "off" }, originOff.url);
  const result = { rounds: [], ratio: null, rowsPerEvent: {}, lag: null };
  try {
    const provider = "cybavo";
    const urlOn = `${on.url}/webhooks/${provider}`;
    const urlOff = `${off.url}/webhooks/${provider}`;
    const poolOn = h.pool(h.requests(provider, urlOn, "new", 20_000, 100, 7_000_001), true);
    const poolOff = h.pool(h.requests(provider, urlOff, "new", 20_000, 100, 8_000_001), true);
    // Warm-up: each gateway creates its 100 account objects (and the index its first rows).
    for (const [url, items, origin] of [
      [urlOn, poolOn, originOn],
      [urlOff, poolOff, originOff],
    ]) {
      await h.load(url, items.items.slice(0, 500), 500);
      items.cursor = 500;
      await h.waitFor(() => origin.received() >= 500, 60_000);
      await h.drained(origin, 1500, 60_000);
    }
    const before = await h.counters(on, provider);
    const beforeOff = await h.counters(off, provider);
    let eventsOn = 0;
    let eventsOff = 0;
    for (let round = 0; round < h.rounds; round++) {
      const runOn = () => h.measure(on, urlOn, poolOn, originOn);
      const runOff = () => h.measure(off, urlOff, poolOff, originOff);
      let a;
      let b;
      if (round % 2 === 0) {
        a = await runOn();
        b = await runOff();
      } else {
        b = await runOff();
        a = await runOn();
      }
      eventsOn += a.accepted;
      eventsOff += b.accepted;
      result.rounds.push({
        round,
        onRps: a.rps,
        offRps: b.rps,
        ratio: a.rps / b.rps,
        onCpuUsPerDelivered: a.cpuUsPerDelivered,
        offCpuUsPerDelivered: b.cpuUsPerDelivered,
        allDelivered: a.allDelivered && b.allDelivered,
      });
      h.log(
        `index round ${round + 1}/${h.rounds}: on ${Math.round(a.rps)}/s, off ${Math.round(b.rps)}/s, ratio ${(a.rps / b.rps).toFixed(3)}`,
      );
    }
    const ratios = result.rounds.map((r) => r.ratio);
    result.ratio = { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
    const cpuRatios = result.rounds.map((r) => r.onCpuUsPerDelivered / r.offCpuUsPerDelivered);
    result.cpuPerDeliveredRatio = { median: median(cpuRatios), min: Math.min(...cpuRatios), max: Math.max(...cpuRatios) };
    // Every round's events are indexed (the last batch may trail the last delivery by a run).
    const db = await on.mf.getD1Database("INDEX_DB");
    const after = await waitForIndex(h, on, provider, before, eventsOn);
    result.rowsPerEvent.all = perEvent(before, after, eventsOn);
    // The same rounds on the index-off gateway: what the account objects write without the index.
    result.rowsPerEvent.off = perEvent(beforeOff, await h.counters(off, provider), eventsOff);
    await off.mf.dispose();

    // Lag under the sustained end-to-end load, on the index-on gateway.
    const n = 3000;
    await h.drained(originOn, 1500, 60_000);
    originOn.reset();
    const since = Date.now();
    const prepared = h.requests(provider, urlOn, "new", n, 100, 9_000_001);
    const ingest = await h.load(urlOn, prepared, n);
    const delivered = await h.waitFor(() => originOn.received() >= n, 120_000);
    const indexed = await waitForRows(db, since, n, 60_000);
    const rows = (
      await db
        .prepare("SELECT received_at, delivered_at, indexed_at FROM events WHERE received_at >= ? AND status = 'delivered'")
        .bind(since)
        .all()
    ).results;
    const lags = rows.map((r) => r.indexed_at - r.received_at).sort((x, y) => x - y);
    const afterDelivery = rows.map((r) => r.indexed_at - r.delivered_at).sort((x, y) => x - y);
    result.lag = {
      events: n,
      ingestRps: ingest.rps,
      delivered,
      indexedRows: rows.length,
      allIndexed: indexed,
      receivedToIndexedMs: { p50: quantile(lags, 0.5), p95: quantile(lags, 0.95), max: lags.at(-1) },
      deliveredToIndexedMs: { p50: quantile(afterDelivery, 0.5), p95: quantile(afterDelivery, 0.95), max: afterDelivery.at(-1) },
    };
    h.log(
      `index lag over ${rows.length}/${n} events: received→indexed p50 ${result.lag.receivedToIndexedMs.p50} ms, p95 ${result.lag.receivedToIndexedMs.p95} ms`,
    );
  } finally {
    await on.mf.dispose();
    await off.mf.dispose().catch(() => undefined);
    await originOn.close();
    await originOff.close();
  }

  // "attention" mode: only events that need an operator are indexed.
  const originAttention = await h.startOrigin();
  const attention = await h.startGateway({ INDEX_MODE: "attention" }, originAttention.url);
  try {
    const provider = "cybavo";
    const url = `${attention.url}/webhooks/${provider}`;
    const n = 1000;
    await h.load(url, h.requests(provider, url, "new", 100, 100, 10_000_001), 100);
    await h.waitFor(() => originAttention.received() >= 100, 60_000);
    await h.drained(originAttention, 1500, 60_000);
    const before = await h.counters(attention, provider);
    await h.load(url, h.requests(provider, url, "new", n, 100, 10_000_001), n);
    await h.waitFor(() => originAttention.received() >= 100 + n, 60_000);
    await h.drained(originAttention, 2000, 60_000);
    result.rowsPerEvent.attention = perEvent(before, await h.counters(attention, provider), n);
  } finally {
    await attention.mf.dispose();
    await originAttention.close();
  }
  result.usdPerMillion = {
    all: result.rowsPerEvent.all.d1RowsWritten * D1_USD_PER_MILLION_ROWS_WRITTEN,
    attention: result.rowsPerEvent.attention.d1RowsWritten * D1_USD_PER_MILLION_ROWS_WRITTEN,
  };
  return result;
}

function perEvent(before, after, events) {
  const delta = (key) => (after[key] ?? 0) - (before[key] ?? 0);
  return {
    events,
    d1RowsWritten: delta("d1_rows_written") / events,
    d1RowsRead: delta("d1_rows_read") / events,
    sqlRowsWritten: delta("sql_rows_written") / events,
    alarms: delta("alarms") / events,
  };
}

/** The counters once the index has caught up: read until two reads a second apart agree. */
async function waitForIndex(h, gateway, provider, before, events) {
  let last = await h.counters(gateway, provider);
  for (let i = 0; i < 20; i++) {
    const next = await h.counters(gateway, provider);
    if ((next.d1_rows_written ?? 0) === (last.d1_rows_written ?? 0) && (next.d1_rows_written ?? 0) > (before.d1_rows_written ?? 0))
      return next;
    last = next;
  }
  h.log(`index counters still moving after the rounds (${events} events)`);
  return last;
}

async function waitForRows(db, since, n, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const row = await db.prepare("SELECT count(*) AS n FROM events WHERE received_at >= ? AND status = 'delivered'").bind(since).first();
    if (row.n >= n) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}
