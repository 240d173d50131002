/**
 * Rejected requests (src/rejections.ts): every 4xx answer to a request that did not verify is
 * recorded with its source, time, status, cause, size and client IP, never a byte of its body;
 * recording is a bounded buffer in the isolate's memory, flushed to D1 in one batch at most every
 * STATS_FLUSH_MS, so the forged path gains no D1 call per request; retention keeps the table
 * bounded in count and age (src/overview/retention.ts). Real D1.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../src/config";
import worker from "../src/index";
import { pruneOverview } from "../src/overview/retention";
import { forgetRejections, REJECTIONS_PER_FLUSH } from "../src/rejections";
import { runScheduled } from "../src/scheduled";
import { count, flushIfDue } from "../src/stats";
import { admin, call, captureLogs, cybavoCallback, cybavoChecksum, post } from "./support/gateway";
import { kits } from "./support/kits";

const MARKER = "BODY-MARKER-3b7e91c0";
const IP = "203.0.113.77";
const DAY = 86_400_000;

interface Row {
  source: string;
  at: number;
  status: number;
  cause: string;
  bytes: number | null;
  ip: string | null;
  count: number;
}

async function rejections(query = ""): Promise<Row[]> {
  const response = await admin("GET", `/rejections${query}`);
  expect(response.status).toBe(200);
  return (await response.json<{ rejections: Row[] }>()).rejections;
}

const request = (path: string, init: RequestInit & { headers?: Record<string, string> }) =>
  new Request(`https://gateway.test${path}`, { ...init, headers: { "cf-connecting-ip": IP, ...init.headers } });

/** Every row of every table of the D1 database, as JSON text. */
async function everyD1Row(): Promise<string> {
  const { results } = await env.INDEX_DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite%'",
  ).all<{ name: string }>();
  const dumps = await Promise.all(
    results.map(async ({ name }) => JSON.stringify((await env.INDEX_DB.prepare(`SELECT * FROM "${name}"`).all()).results)),
  );
  return dumps.join("\n");
}

beforeEach(() => {
  forgetRejections();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("each cause is recorded, without a byte of the body", () => {
  it("unknown source 404, wrong method 405, IP not allowed 403, too large 413, and each 401: missing, malformed, bad, stale, replayed", async () => {
    await env.INDEX_DB.prepare("DELETE FROM rejections").run();
    const body = JSON.stringify({ ...cybavoCallback(), note: MARKER });
    const size = new TextEncoder().encode(body).byteLength;
    const cabital = kits.find((k) => k.source === "cabital")!;
    const signedWith = async (options = {}) => cabital.sign({ ...cabital.unknownEvent, note: MARKER }, options);
    const sends: [string, () => Promise<Response>][] = [
      [
        "unknown",
        () => call(request(`/webhooks/${"x".repeat(150)}`, { method: "POST", body, headers: { "content-length": String(size) } })),
      ],
      ["method", () => call(request("/webhooks/cybavo", { method: "PUT", body, headers: { "content-length": String(size) } }))],
      ["ip", () => call(request("/webhooks/cybavo-ip", { method: "POST", body, headers: { "content-length": String(size) } }))],
      [
        "large",
        () =>
          call(
            request("/webhooks/cybavo", {
              method: "POST",
              body: `${body}${" ".repeat(70_000)}`,
              headers: { "content-length": String(size + 70_000) },
            }),
          ),
      ],
      [
        "missing",
        async () => {
          const s = cabital.missing(await signedWith());
          return call(request("/webhooks/cabital", { method: "POST", body: s.body, headers: s.headers }));
        },
      ],
      [
        "malformed",
        async () => {
          const s = cabital.malformed(await signedWith());
          return call(request("/webhooks/cabital", { method: "POST", body: s.body, headers: s.headers }));
        },
      ],
      [
        "bad",
        async () => {
          const s = await signedWith({ wrongSecret: true });
          return call(request("/webhooks/cabital", { method: "POST", body: s.body, headers: s.headers }));
        },
      ],
      [
        "stale",
        async () => {
          const s = await signedWith({ now: Date.now() - 3_600_000 });
          return call(request("/webhooks/cabital", { method: "POST", body: s.body, headers: s.headers }));
        },
      ],
    ];
    const statuses: Record<string, number> = {};
    for (const [name, send] of sends) statuses[name] = (await send()).status;
    // A replayed nonce: the same signed request twice (its body carries no marker: the first copy is verified and stored).
    const replay = await cabital.sign(cabital.unknownEvent);
    const replayBytes = new TextEncoder().encode(replay.body).byteLength;
    for (const name of ["first", "replay"])
      statuses[name] = (await call(request("/webhooks/cabital", { method: "POST", body: replay.body, headers: replay.headers }))).status;
    expect(statuses).toEqual({
      unknown: 404,
      method: 405,
      ip: 403,
      large: 413,
      missing: 401,
      malformed: 401,
      bad: 401,
      stale: 401,
      first: 200,
      replay: 401,
    });

    const rows = await rejections();
    const signedBytes = async (s: { body: string }) => new TextEncoder().encode(s.body).byteLength;
    const withoutAt = rows.map(({ at, ...rest }) => {
      expect(Math.abs(at - Date.now())).toBeLessThan(60_000);
      return rest;
    });
    // Newest first.
    expect(withoutAt).toEqual([
      { source: "cabital", status: 401, cause: "replayed", bytes: replayBytes, ip: IP, count: 1 },
      { source: "cabital", status: 401, cause: "stale_timestamp", bytes: withoutAt[1]!.bytes, ip: IP, count: 1 },
      { source: "cabital", status: 401, cause: "bad_signature", bytes: withoutAt[2]!.bytes, ip: IP, count: 1 },
      { source: "cabital", status: 401, cause: "malformed_signature", bytes: withoutAt[3]!.bytes, ip: IP, count: 1 },
      { source: "cabital", status: 401, cause: "missing_signature", bytes: withoutAt[4]!.bytes, ip: IP, count: 1 },
      { source: "cybavo", status: 413, cause: "too_large", bytes: size + 70_000, ip: IP, count: 1 },
      { source: "cybavo-ip", status: 403, cause: "ip_not_allowed", bytes: size, ip: IP, count: 1 },
      { source: "cybavo", status: 405, cause: "method_not_allowed", bytes: size, ip: IP, count: 1 },
      { source: "x".repeat(100), status: 404, cause: "unknown_source", bytes: size, ip: IP, count: 1 },
    ]);
    // The 401s' sizes are the bytes read: each signed body's own length.
    expect(withoutAt[2]!.bytes).toBe(await signedBytes(await signedWith({ wrongSecret: true })));
    expect(rows.slice(1, 5).every((r) => typeof r.bytes === "number" && r.bytes > MARKER.length)).toBe(true);
    // Not a byte of any body: in no D1 row of any table, and in no answer.
    expect(await everyD1Row()).not.toContain(MARKER);
    expect(JSON.stringify(rows)).not.toContain(MARKER);
    // ?source= and ?limit=.
    expect((await rejections("?source=cybavo")).map((r) => r.cause)).toEqual(["too_large", "method_not_allowed"]);
    expect((await rejections("?limit=2")).map((r) => r.cause)).toEqual(["replayed", "stale_timestamp"]);
  });

  it("a body without Content-Length: the bytes read (401), or null when the read stopped at the cap (413)", async () => {
    const streamed = (text: string) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(text));
          controller.close();
        },
      });
    const forged = JSON.stringify({ ...cybavoCallback(), note: MARKER });
    const source = "cybavo";
    const before = (await rejections(`?source=${source}`)).length;
    const checksum = await cybavoChecksum(forged, "not-the-secret");
    const small = await call(
      request(`/webhooks/${source}`, { method: "POST", body: streamed(forged), headers: { "x-checksum": checksum } }),
    );
    const large = await call(request(`/webhooks/${source}`, { method: "POST", body: streamed(" ".repeat(70_000)) }));
    expect([small.status, large.status]).toEqual([401, 413]);
    const rows = await rejections(`?source=${source}`);
    expect(rows.length - before).toBe(2);
    expect(rows.slice(0, 2).map((r) => [r.cause, r.bytes])).toEqual([
      ["too_large", null],
      ["bad_signature", new TextEncoder().encode(forged).byteLength],
    ]);
  });
});

describe("recording stays off the request path", () => {
  it("N forged requests: two D1 batches (the first at once, the rest when the window ends), 50 rows and one summary row with the rest's count", async () => {
    const frozen = Date.now();
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(frozen);
    // The counters' flush is held for the test (its clock an hour ahead): only rejections touch D1.
    count("~test-flush", "do_requests");
    await flushIfDue(env, frozen + 3_600_000, Number.NEGATIVE_INFINITY);
    const d1 = countingD1(env.INDEX_DB);
    const bindings = { ...env, INDEX_DB: d1.binding, STATS_FLUSH_MS: "3000" } as Env;
    const ip = "198.51.100.9";
    const body = JSON.stringify({ ...cybavoCallback(), note: MARKER });
    const checksum = await cybavoChecksum(body, "not-the-secret");
    const forged = () =>
      new Request("https://gateway.test/webhooks/cybavo", {
        method: "POST",
        body,
        headers: { "x-checksum": checksum, "cf-connecting-ip": ip },
      });
    const send = async () => {
      const ctx = createExecutionContext();
      const response = await worker.fetch(forged() as Parameters<typeof worker.fetch>[0], bindings, ctx);
      return { response, ctx };
    };
    const N = 200;
    // The first of the window is flushed at once.
    const first = await send();
    await waitOnExecutionContext(first.ctx);
    expect(d1.calls).toEqual([{ kind: "batch", rejections: true }]);
    // The other 199, within the window: answered without any D1 call; one flush after it.
    const rest = await Promise.all(Array.from({ length: N - 1 }, send));
    expect(rest.every((r) => r.response.status === 401)).toBe(true);
    expect(d1.calls).toHaveLength(1);
    await Promise.all(rest.map((r) => waitOnExecutionContext(r.ctx)));
    expect(d1.calls).toEqual([
      { kind: "batch", rejections: true },
      { kind: "batch", rejections: true },
    ]);
    const { results } = await env.INDEX_DB.prepare(
      "SELECT cause, count, bytes IS NULL AS unsized FROM rejections WHERE ip = ? OR (ip IS NULL AND at = ?) ORDER BY rowid",
    )
      .bind(ip, frozen)
      .all<{ cause: string; count: number; unsized: number }>();
    const single = results.filter((r) => r.count === 1);
    const summary = results.filter((r) => r.count !== 1);
    expect(single).toHaveLength(1 + REJECTIONS_PER_FLUSH);
    expect(summary).toEqual([{ cause: "bad_signature", count: N - 1 - REJECTIONS_PER_FLUSH, unsized: 1 }]);
    expect(REJECTIONS_PER_FLUSH).toBe(50);
    vi.useRealTimers();
    count("~test-flush", "do_requests");
    await flushIfDue(env, Date.now(), Number.NEGATIVE_INFINITY);
  });

  it("unknown sources share one bound, whatever path segments a scanner sends", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const frozen = Date.now();
    vi.setSystemTime(frozen);
    const bindings = { ...env, STATS_FLUSH_MS: "3000" } as Env;
    const first = createExecutionContext();
    await worker.fetch(new Request("https://gateway.test/webhooks/scan-first", { method: "POST" }) as never, bindings, first);
    await waitOnExecutionContext(first);
    const contexts = await Promise.all(
      Array.from({ length: 120 }, async (_, i) => {
        const ctx = createExecutionContext();
        const response = await worker.fetch(
          new Request(`https://gateway.test/webhooks/scan-${i}`, { method: "POST" }) as never,
          bindings,
          ctx,
        );
        expect(response.status).toBe(404);
        return ctx;
      }),
    );
    await Promise.all(contexts.map((ctx) => waitOnExecutionContext(ctx)));
    const { results } = await env.INDEX_DB.prepare(
      "SELECT source, count FROM rejections WHERE cause = 'unknown_source' AND source LIKE 'scan-%' AND at = ? ORDER BY rowid",
    )
      .bind(frozen)
      .all<{ source: string; count: number }>();
    expect(results.length).toBe(1 + REJECTIONS_PER_FLUSH + 1);
    // The summary names the first segment it left out, and counts all of them.
    expect(results.at(-1)).toEqual({ source: `scan-${REJECTIONS_PER_FLUSH}`, count: 120 - REJECTIONS_PER_FLUSH });
  });

  it("a D1 failure is logged at warn with what was dropped, and the request was answered as usual", async () => {
    const failing = { ...env, INDEX_DB: failingD1() } as Env;
    const { result, lines } = await captureLogs(async () =>
      post("cybavo", "{}", { "x-checksum": await cybavoChecksum("{}", "not-the-secret") }, failing),
    );
    expect(result.status).toBe(401);
    expect(lines.filter((l) => l.msg === "rejections_flush").map((l) => [l.level, l.dropped])).toEqual([["warn", 1]]);
  });
});

describe("retention", () => {
  it("deletes exactly the rows past the age or beyond the newest per source (unknown sources count as one), and counts older than the index retention", async () => {
    await env.INDEX_DB.prepare("DELETE FROM rejections").run();
    await env.INDEX_DB.prepare("DELETE FROM counts").run();
    const now = Date.now();
    const rows: [string, number, string][] = [];
    for (let i = 0; i < 1005; i++) rows.push(["ret-a", now - i * 1000, "bad_signature"]);
    for (let i = 0; i < 3; i++) rows.push(["ret-b", now - 8 * DAY - i, "ip_not_allowed"]);
    for (let i = 0; i < 2; i++) rows.push(["ret-b", now - 6 * DAY - i, "ip_not_allowed"]);
    for (let i = 0; i < 1003; i++) rows.push([`scan-${i}`, now - i * 1000, "unknown_source"]);
    for (let i = 0; i < rows.length; i += 200) {
      await env.INDEX_DB.batch(
        rows
          .slice(i, i + 200)
          .map(([source, at, cause]) =>
            env.INDEX_DB.prepare("INSERT INTO rejections (source, at, status, cause, bytes, ip) VALUES (?, ?, 401, ?, 10, NULL)").bind(
              source,
              at,
              cause,
            ),
          ),
      );
    }
    const config = loadConfig(env);
    if (!config.ok) throw new Error("test configuration invalid");
    const retentionDays = config.config.indexRetentionDays;
    await env.INDEX_DB.batch(
      [now - (retentionDays + 1) * DAY, now - (retentionDays - 1) * DAY].map((bucket) =>
        env.INDEX_DB.prepare("INSERT INTO counts (source, bucket, name, value) VALUES ('cybavo', ?, 'accepted', 1)").bind(bucket),
      ),
    );
    const pruned = await pruneOverview(env, config.config, now);
    expect(pruned).toEqual({ rejections: 5 + 3 + 3, counts: 1 });
    const left = async (sql: string) => (await env.INDEX_DB.prepare(sql).first<{ n: number; oldest: number }>())!;
    expect(await left("SELECT COUNT(*) AS n, MIN(at) AS oldest FROM rejections WHERE source = 'ret-a'")).toEqual({
      n: 1000,
      oldest: now - 999_000,
    });
    expect(await left("SELECT COUNT(*) AS n, MIN(at) AS oldest FROM rejections WHERE source = 'ret-b'")).toEqual({
      n: 2,
      oldest: now - 6 * DAY - 1,
    });
    expect(await left("SELECT COUNT(*) AS n, MIN(at) AS oldest FROM rejections WHERE cause = 'unknown_source'")).toEqual({
      n: 1000,
      oldest: now - 999_000,
    });
    expect(await left("SELECT COUNT(*) AS n, MIN(bucket) AS oldest FROM counts")).toEqual({
      n: 1,
      oldest: now - (retentionDays - 1) * DAY,
    });
    // Again: nothing more to delete.
    expect(await pruneOverview(env, config.config, now)).toEqual({ rejections: 0, counts: 0 });
  });
});

describe("the cron", () => {
  it("runs the overview's retention: an expired rejection and an expired count go, and the run says how many", async () => {
    const now = Date.now();
    await env.INDEX_DB.batch([
      env.INDEX_DB.prepare("INSERT INTO rejections (source, at, status, cause) VALUES ('cron-a', ?, 403, 'ip_not_allowed')").bind(
        now - 30 * DAY,
      ),
      env.INDEX_DB.prepare("INSERT INTO counts (source, bucket, name, value) VALUES ('cron-a', ?, 'accepted', 1)").bind(now - 400 * DAY),
    ]);
    const { lines } = await captureLogs(() => runScheduled(env, now));
    expect(lines.filter((l) => l.msg === "scheduled" && l.task === "overview_retention").map((l) => [l.rejections, l.counts])).toEqual([
      [1, 1],
    ]);
    const left = await env.INDEX_DB.prepare(
      "SELECT (SELECT COUNT(*) FROM rejections WHERE source = 'cron-a') + (SELECT COUNT(*) FROM counts WHERE source = 'cron-a') AS n",
    ).first<{ n: number }>();
    expect(left).toEqual({ n: 0 });
  });
});

/** Records every D1 round trip (a batch, or one statement run on its own) made through the binding. */
function countingD1(real: D1Database) {
  const calls: { kind: string; rejections: boolean }[] = [];
  const sqlOf = new WeakMap<object, string>();
  const binding = new Proxy(real, {
    get(target, name) {
      if (name === "prepare") {
        return (sql: string) => {
          const statement = target.prepare(sql);
          sqlOf.set(statement, sql);
          const wrap = (s: D1PreparedStatement): D1PreparedStatement =>
            new Proxy(s, {
              get(inner, key) {
                if (key === "bind")
                  return (...values: unknown[]) => {
                    const bound = inner.bind(...values);
                    sqlOf.set(bound, sql);
                    return bound;
                  };
                if (["run", "all", "first", "raw"].includes(String(key))) {
                  calls.push({ kind: String(key), rejections: sql.includes("rejections") });
                }
                const value = Reflect.get(inner, key);
                return typeof value === "function" ? value.bind(inner) : value;
              },
            });
          return wrap(statement);
        };
      }
      if (name === "batch") {
        return (statements: D1PreparedStatement[]) => {
          calls.push({ kind: "batch", rejections: statements.some((s) => (sqlOf.get(s) ?? "").includes("rejections")) });
          return target.batch(statements);
        };
      }
      const value = Reflect.get(target, name);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { binding, calls };
}

/** A D1 binding whose every call fails, as an outage would. */
function failingD1(): D1Database {
  const unavailable = () => Promise.reject(new Error("D1 unavailable (test)"));
  const statement = { bind: () => statement, run: unavailable, all: unavailable, first: unavailable, raw: unavailable };
  return { prepare: () => statement, batch: unavailable, exec: unavailable } as unknown as D1Database;
}
