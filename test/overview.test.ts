/**
 * The console's overview (GET /admin/overview): counts per source per 5-minute bucket, written to
 * D1 by the counters flush (src/stats.ts → src/overview/series.ts), and delivery latency over the
 * window from the index's `events` rows (src/overview/read.ts). Real D1, real Durable Objects.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { forgetIsolateCache } from "../src/isolate-cache";
import { count, flushIfDue, statsLedger } from "../src/stats";
import {
  admin,
  call,
  captureLogs,
  counterDeltas,
  cybavoCallback,
  drain,
  postCybavo,
  scriptOrigin,
  secrets,
  uniqueAccount,
} from "./support/gateway";

const statsLedgerCounters = (source: string) => statsLedger(env, source).counters();

const BUCKET = 300_000;
const SERIES = ["accepted", "duplicate", "rejected", "quarantined", "delivered", "failed", "dead"] as const;
type Point = { at: number } & Record<(typeof SERIES)[number], number>;
type Overview = { bucketMs: number; sources: Record<string, { series: Point[]; latencyMs: { p50: number; p95: number } | null }> };

async function overview(query: string, bindings?: Env): Promise<{ status: number; body: Overview }> {
  const request = new Request(`https://gateway.test/admin/overview${query}`, {
    headers: { authorization: `Bearer ${secrets.ADMIN_TOKEN}` },
  });
  const response = bindings === undefined ? await admin("GET", `/overview${query}`) : await call(request, bindings);
  return { status: response.status, body: await response.json<Overview>() };
}

/** Every bucket's counts of one source summed, over a window that holds all of this test's. */
function totals(series: Point[]): Record<(typeof SERIES)[number], number> {
  return Object.fromEntries(SERIES.map((name) => [name, series.reduce((sum, p) => sum + p[name], 0)])) as Record<
    (typeof SERIES)[number],
    number
  >;
}

afterEach(() => {
  vi.useRealTimers();
});

describe("counts over time", () => {
  it("the series hold exactly the counts the requests and deliveries caused, failed attempts included", async () => {
    forgetIsolateCache();
    const since = Date.now() - 60_000;
    const before = totals((await overview(`?source=cybavo&since=${since}`)).body.sources.cybavo!.series);
    const retried = uniqueAccount();
    const dead = uniqueAccount();
    const deltas = await counterDeltas("cybavo", async () => {
      await scriptOrigin(String(retried), [503, 200]);
      await scriptOrigin(String(dead), [410]);
      const first = cybavoCallback({ wallet_id: retried });
      expect((await postCybavo("cybavo", first)).status).toBe(200);
      expect((await postCybavo("cybavo", first)).status).toBe(200); // duplicate
      expect((await postCybavo("cybavo", cybavoCallback({ wallet_id: retried }))).status).toBe(200);
      expect((await postCybavo("cybavo", cybavoCallback({ wallet_id: dead }))).status).toBe(200);
      expect((await postCybavo("cybavo", cybavoCallback({ wallet_id: dead }), "wrong-secret")).status).toBe(401);
      await drain("cybavo", String(retried));
      await drain("cybavo", String(dead));
    });
    // The counters' own view of the same run: 3 accepted, 1 duplicate, 1 forged, 1 attempt that
    // failed and was retried (503), 2 delivered, 1 dead-lettered at once (410).
    expect({
      accepted: deltas.accepted,
      duplicate: deltas.duplicate,
      rejected: deltas.rejected,
      failed: deltas.failed,
      delivered: deltas.delivered,
      dead: deltas.dead,
    }).toEqual({ accepted: 3, duplicate: 1, rejected: 1, failed: 1, delivered: 2, dead: 1 });
    const { status, body } = await overview(`?source=cybavo&since=${since}`);
    expect(status).toBe(200);
    expect(body.bucketMs).toBe(BUCKET);
    expect(Object.keys(body.sources)).toEqual(["cybavo"]);
    const after = totals(body.sources.cybavo!.series);
    expect(Object.fromEntries(SERIES.map((name) => [name, after[name] - before[name]]))).toEqual({
      accepted: 3,
      duplicate: 1,
      rejected: 1,
      quarantined: 0,
      delivered: 2,
      failed: 1,
      dead: 1,
    });
  });

  it("counts go to the bucket of the time they were counted, and the window is zero-filled from since to now", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const t = Date.parse("2026-11-20T10:04:59.999Z");
    vi.setSystemTime(t);
    count("cregis", "accepted", 2);
    count("cregis", "too_large");
    vi.setSystemTime(t + 1);
    count("cregis", "accepted");
    count("cregis", "forbidden", 3);
    count("cregis", "quarantined");
    await flushIfDue(env, Date.now(), Number.NEGATIVE_INFINITY);
    vi.setSystemTime(Date.parse("2026-11-20T10:07:00Z"));
    const { status, body } = await overview(`?source=cregis&since=${Date.parse("2026-11-20T09:52:30Z")}`);
    expect(status).toBe(200);
    const zero = { accepted: 0, duplicate: 0, rejected: 0, quarantined: 0, delivered: 0, failed: 0, dead: 0 };
    // `rejected` sums every 4xx answer to a configured source: forged (401), forbidden (403), too large (413), replayed.
    expect(body.sources.cregis!.series).toEqual([
      { at: Date.parse("2026-11-20T09:50:00Z"), ...zero },
      { at: Date.parse("2026-11-20T09:55:00Z"), ...zero },
      { at: Date.parse("2026-11-20T10:00:00Z"), ...zero, accepted: 2, rejected: 1 },
      { at: Date.parse("2026-11-20T10:05:00Z"), ...zero, accepted: 1, rejected: 3, quarantined: 1 },
    ]);
    expect(body.sources.cregis!.latencyMs).toBeNull();
  });

  it("a D1 failure keeps the deltas for the next flush, logged at warn, and never blocks the counters object", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const t = Date.parse("2026-11-21T08:00:00Z");
    vi.setSystemTime(t);
    const broken = { ...env, INDEX_DB: failingD1() } as Env;
    const before = await statsLedgerCounters("killb");
    count("killb", "delivered", 4);
    const { lines } = await captureLogs(() => flushIfDue(broken, Date.now(), Number.NEGATIVE_INFINITY) ?? Promise.resolve());
    expect(lines.filter((l) => l.msg === "counts_flush").map((l) => [l.level, l.kept])).toEqual([["warn", 1]]);
    // The Durable Object counters got them anyway.
    expect((await statsLedgerCounters("killb")).delivered).toBe((before.delivered ?? 0) + 4);
    vi.setSystemTime(t + 1000);
    count("killb", "delivered");
    await flushIfDue(env, Date.now(), Number.NEGATIVE_INFINITY);
    const { results } = await env.INDEX_DB.prepare("SELECT bucket, name, value FROM counts WHERE source = 'killb'").all();
    expect(results).toEqual([{ bucket: t, name: "delivered", value: 5 }]);
  });

  it("a binding that throws as a statement is prepared (not only when it runs) is a D1 failure too: logged, kept, never thrown", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.parse("2026-11-21T09:00:00Z"));
    const throwing = new Proxy({} as D1Database, {
      get: () => () => {
        throw new Error("D1 binding broken (test)");
      },
    });
    count("cabital", "delivered", 2);
    const { lines } = await captureLogs(
      () => flushIfDue({ ...env, INDEX_DB: throwing } as Env, Date.now(), Number.NEGATIVE_INFINITY) ?? Promise.resolve(),
    );
    expect(lines.filter((l) => l.msg === "counts_flush").map((l) => [l.level, l.kept])).toEqual([["warn", 1]]);
    // Kept for the next flush, which reaches the real database.
    await flushIfDue(env, Date.now(), Number.NEGATIVE_INFINITY);
    const { results } = await env.INDEX_DB.prepare("SELECT name, value FROM counts WHERE source = 'cabital'").all();
    expect(results).toEqual([{ name: "delivered", value: 2 }]);
  });

  it("what a failing D1 leaves in memory is bounded: the oldest buckets go first, and the line says how many", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = Date.parse("2026-10-01T00:00:00Z");
    // One count in each of 300 buckets, then a flush that fails: at most 288 buckets are kept.
    for (let i = 0; i < 300; i++) {
      vi.setSystemTime(start + i * BUCKET);
      count("coins-hmac", "dead");
    }
    const broken = { ...env, INDEX_DB: failingD1() } as Env;
    const { lines } = await captureLogs(() => flushIfDue(broken, Date.now(), Number.NEGATIVE_INFINITY) ?? Promise.resolve());
    expect(lines.filter((l) => l.msg === "counts_flush").map((l) => [l.kept, l.dropped])).toEqual([[288, 12]]);
    vi.setSystemTime(start + 300 * BUCKET);
    count("coins-hmac", "accepted");
    await flushIfDue(env, Date.now(), Number.NEGATIVE_INFINITY);
    const { results } = await env.INDEX_DB.prepare(
      "SELECT MIN(bucket) AS first, MAX(bucket) AS last, COUNT(*) AS n, SUM(value) AS total FROM counts WHERE source = 'coins-hmac' AND name = 'dead'",
    ).all();
    expect(results).toEqual([{ first: start + 12 * BUCKET, last: start + 299 * BUCKET, n: 288, total: 288 }]);
  });
});

describe("delivery latency", () => {
  it("p50 and p95 (nearest rank) of delivered_at − received_at over the window's delivered rows of the source", async () => {
    const now = Date.now();
    const since = now - 3_600_000;
    const rows: [string, string, string, number, number | null][] = [];
    // 100 delivered killb events in the window, latencies 10, 20, … 1000 ms, in shuffled order.
    const latencies = Array.from({ length: 100 }, (_, i) => (i + 1) * 10).sort(() => Math.random() - 0.5);
    latencies.forEach((ms, i) => {
      rows.push([`evt_lat_${i}`, "killb", "delivered", since + 1000 + i * 1000, ms]);
    });
    // Not counted: before the window, another source, not delivered.
    rows.push(["evt_lat_old", "killb", "delivered", since - 1, 999_999]);
    rows.push(["evt_lat_other", "cabital", "delivered", since + 5000, 777_777]);
    rows.push(["evt_lat_dead", "killb", "dead", since + 5000, null]);
    rows.push(["evt_lat_pending", "killb", "pending", since + 5000, null]);
    await env.INDEX_DB.batch(
      rows.map(([id, source, status, receivedAt, ms]) =>
        env.INDEX_DB.prepare(
          "INSERT INTO events (id, source, account, seq, status, received_at, delivered_at, indexed_at) VALUES (?, ?, 'a', 1, ?, ?, ?, ?)",
        ).bind(id, source, status, receivedAt, ms === null ? null : receivedAt + ms, now),
      ),
    );
    const { body } = await overview(`?since=${since}`);
    expect(body.sources.killb!.latencyMs).toEqual({ p50: 500, p95: 950 });
    expect(body.sources.cabital!.latencyMs).toEqual({ p50: 777_777, p95: 777_777 });
    expect(body.sources["coins-token"]!.latencyMs).toBeNull();
    // The index keeps only the rows that need an operator: no delivered rows, so no latency.
    const attention = await overview(`?since=${since}`, { ...env, INDEX_MODE: "attention" } as Env);
    expect(attention.status).toBe(200);
    expect(attention.body.sources.killb!.latencyMs).toBeNull();
  });
});

describe("the query", () => {
  it("every configured source by default, one with ?source=; a bad since, a since more than 7 days back, an unknown source → 400/404", async () => {
    const all = await overview("");
    expect(all.status).toBe(200);
    const configured = Object.keys(JSON.parse(String((env as unknown as Record<string, unknown>).SOURCES)));
    expect(Object.keys(all.body.sources).sort()).toEqual(configured.sort());
    // Default window: the last 24 hours, 288 or 289 buckets (the current one included).
    expect([288, 289]).toContain(all.body.sources.cybavo!.series.length);
    expect((await admin("GET", "/overview?since=yesterday")).status).toBe(400);
    expect((await admin("GET", `/overview?since=${Date.now() - 8 * 86_400_000}`)).status).toBe(400);
    expect((await admin("GET", "/overview?source=nope")).status).toBe(404);
    expect((await admin("GET", "/overview", null)).status).toBe(401);
  });
});

/** A D1 binding whose every call fails, as an outage would. */
function failingD1(): D1Database {
  const unavailable = () => Promise.reject(new Error("D1 unavailable (test)"));
  const statement = { bind: () => statement, run: unavailable, all: unavailable, first: unavailable, raw: unavailable };
  return { prepare: () => statement, batch: unavailable, exec: unavailable } as unknown as D1Database;
}
