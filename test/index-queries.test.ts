/**
 * The operators' index, read side (src/index-db/filter.ts, queries.ts) against a real local D1
 * database: the filter as the API reads it, each query's exact rows in exact order, keyset
 * pages that cover every matching row once (a property), counts, and query plans that use the
 * table's indexes rather than scanning `events`.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  countIndexed,
  countStatement,
  decodeCursor,
  encodeCursor,
  INDEX_STATUSES,
  type IndexFilter,
  listIndexed,
  listStatement,
  type Statement,
} from "../src/index-db/filter";
import { parseFilter, parsePageQuery } from "../src/index-db/filter-query";
import { indexState, listAccounts, listEntries } from "../src/index-db/queries";
import { insertAccounts, insertEvents, newestFirst, type SeedEvent, seedEvent, seedSource } from "./support/index-rows";

const T0 = Date.parse("2026-05-01T10:00:00Z");
const MIN = 60_000;

describe("filter parsing", () => {
  it("reads every field: times as RFC 3339 or Unix ms, limit cut to 1000, blanks as absent", () => {
    expect(
      parsePageQuery({
        source: "cybavo",
        account: "a 1",
        type: "deposit.updated",
        status: "dead",
        from: "2026-05-01T00:00:00Z",
        to: "1777680000000",
        q: "order-7",
        limit: "5000",
      }),
    ).toEqual({
      ok: true,
      value: {
        filter: {
          source: "cybavo",
          account: "a 1",
          type: "deposit.updated",
          status: "dead",
          from: Date.parse("2026-05-01T00:00:00Z"),
          to: 1777680000000,
          q: "order-7",
        },
        limit: 1000,
      },
    });
    expect(parsePageQuery({ from: "2026-05-01T02:00:00.5+02:00", source: "", status: "" })).toEqual({
      ok: true,
      value: { filter: { from: Date.parse("2026-05-01T00:00:00.500Z") }, limit: 100 },
    });
    expect(parsePageQuery({ limit: "7" })).toEqual({ ok: true, value: { filter: {}, limit: 7 } });
  });

  it("answers a clear message for each bad value", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ status: "failed" }, "status must be one of pending, delivered, dead, quarantined, reprocessed"],
      [{ from: "yesterday" }, "from must be RFC 3339 (2026-05-01T00:00:00Z) or Unix milliseconds"],
      [{ to: "2026-13-01T00:00:00Z" }, "to must be RFC 3339 (2026-05-01T00:00:00Z) or Unix milliseconds"],
      [{ from: "2026-05-01" }, "from must be RFC 3339 (2026-05-01T00:00:00Z) or Unix milliseconds"],
      [{ from: "1777680000000", to: "1777680000000" }, "to must be later than from"],
      [{ limit: "0" }, "limit must be a positive integer"],
      [{ limit: "ten" }, "limit must be a positive integer"],
      [{ limit: "-1" }, "limit must be a positive integer"],
      [{ limit: ["5", "6"] }, "limit must be given once"],
      [{ source: ["a", "b"] }, "source must be given once, as text"],
      [{ stauts: "dead" }, 'unknown parameter "stauts"'],
      [{ q: "x".repeat(1025) }, "q must be at most 1024 characters"],
      [{ cursor: "not-a-cursor" }, "cursor is not one this API gave"],
      [{ cursor: encodeCursor({ receivedAt: 1, id: "evt_x" }).slice(4) }, "cursor is not one this API gave"],
    ];
    for (const [query, error] of cases) expect(parsePageQuery(query), JSON.stringify(query)).toEqual({ ok: false, error });
  });

  it("a bulk job's JSON filter: numbers as times, no unknown keys, no paging fields", () => {
    expect(parseFilter({ status: "dead", from: 1777593600000, source: "cybavo" })).toEqual({
      ok: true,
      value: { status: "dead", from: 1777593600000, source: "cybavo" },
    });
    expect(parseFilter({ from: 1.5 })).toEqual({ ok: false, error: "from must be RFC 3339 (2026-05-01T00:00:00Z) or Unix milliseconds" });
    expect(parseFilter({ limit: "10" })).toEqual({ ok: false, error: 'unknown parameter "limit"' });
    expect(parseFilter({ source: 7 })).toEqual({ ok: false, error: "source must be given once, as text" });
    expect(parseFilter(null)).toEqual({ ok: false, error: "filter must be an object" });
    expect(parseFilter([])).toEqual({ ok: false, error: "filter must be an object" });
  });

  it("a cursor reads back as the keyset it was made from", () => {
    const keyset = { receivedAt: T0, id: "evt_0123456789abcdef0123456789abcdef" };
    expect(decodeCursor(encodeCursor(keyset))).toEqual(keyset);
  });
});

/** A fixed set of rows under a source of its own, and the ids in the order the index lists them. */
async function fixture() {
  const source = seedSource();
  const other = seedSource();
  // References unique to this call: the database is shared by the file's tests.
  const ref = (name: string) => `${source}-${name}`;
  const rows = {
    delivered1: seedEvent({
      source,
      account: "a1",
      seq: 1,
      received_at: T0,
      status: "delivered",
      refs: [ref("order-1"), ref("tx-shared")],
    }),
    dead1: seedEvent({ source, account: "a1", seq: 2, received_at: T0 + MIN, status: "dead", reason: "HTTP 410", last_status: 410 }),
    pending1: seedEvent({ source, account: "a2", seq: 1, received_at: T0 + 2 * MIN, status: "pending", type: "withdrawal.updated" }),
    dead2: seedEvent({
      source,
      account: "a2",
      seq: 2,
      received_at: T0 + 3 * MIN,
      status: "dead",
      reason: "x".repeat(400),
      refs: [ref("tx-shared")],
    }),
    quarantined: seedEvent({
      source,
      account: "~quarantine",
      seq: 1,
      received_at: T0 + 3 * MIN,
      status: "quarantined",
      type: null,
      reason: "unmapped: state 42",
    }),
    delivered2: seedEvent({ source, account: "a1", seq: 3, received_at: T0 + 4 * MIN, status: "delivered", refs: [ref("order-2")] }),
    elsewhere: seedEvent({ source: other, account: "a1", seq: 1, received_at: T0 + 5 * MIN, status: "dead", refs: [ref("tx-shared")] }),
  };
  await insertEvents(Object.values(rows));
  const ids = (...names: (keyof typeof rows)[]) => names.map((name) => rows[name].id);
  return { source, other, rows, ids, ref };
}

async function allPages(filter: IndexFilter, limit: number) {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await listIndexed(env.INDEX_DB, filter, cursor, limit);
    ids.push(...page.rows.map((row) => row.id));
    if (page.next === undefined) return ids;
    cursor = page.next;
  }
  throw new Error("more than 1000 pages");
}

describe("queries on seeded rows", () => {
  it("lists exactly the matching events, newest first (ties by id, descending), and counts them", async () => {
    const { source, rows, ids, ref } = await fixture();
    const sameTime = [rows.dead2.id, rows.quarantined.id].sort().reverse();
    const cases: [IndexFilter, string[]][] = [
      [{ source }, [...ids("delivered2"), ...sameTime, ...ids("pending1", "dead1", "delivered1")]],
      [{ source, status: "dead" }, ids("dead2", "dead1")],
      [{ source, status: "delivered" }, ids("delivered2", "delivered1")],
      [{ source, status: "pending" }, ids("pending1")],
      [{ source, status: "quarantined" }, ids("quarantined")],
      [{ source, status: "reprocessed" }, []],
      [{ source, account: "a2" }, ids("dead2", "pending1")],
      [{ source, type: "withdrawal.updated" }, ids("pending1")],
      [{ source, from: T0 + MIN, to: T0 + 3 * MIN }, ids("pending1", "dead1")],
      [{ source, from: T0 + 3 * MIN, status: "dead" }, ids("dead2")],
      [{ q: rows.dead1.id }, ids("dead1")],
      [{ q: rows.dead1.id, status: "delivered" }, []],
      [{ q: ref("order-2") }, ids("delivered2")],
      [{ q: ref("tx-shared") }, ids("elsewhere", "dead2", "delivered1")],
      [{ q: ref("tx-shared"), source }, ids("dead2", "delivered1")],
      [{ q: ref("tx-shared"), source, status: "dead" }, ids("dead2")],
      [{ q: "no-such-ref" }, []],
    ];
    for (const [filter, expected] of cases) {
      expect(await allPages(filter, 100), JSON.stringify(filter)).toEqual(expected);
      expect(await allPages(filter, 1), JSON.stringify(filter)).toEqual(expected);
      expect(await countIndexed(env.INDEX_DB, filter), JSON.stringify(filter)).toBe(expected.length);
    }
  });

  it("answers each row in the API's shape", async () => {
    const { rows, ref } = await fixture();
    const page = await listIndexed(env.INDEX_DB, { q: rows.dead1.id }, undefined, 10);
    expect(page).toEqual({
      rows: [
        {
          id: rows.dead1.id,
          source: rows.dead1.source,
          account: "a1",
          seq: 2,
          type: "deposit.updated",
          status: "dead",
          amount: "1.50",
          currency: "USDT",
          refs: [],
          receivedAt: "2026-05-01T10:01:00.000Z",
          deliveredAt: null,
          nextAttemptAt: null,
          attempts: 1,
          lastStatus: 410,
          reason: "HTTP 410",
          indexedAt: new Date(rows.dead1.indexed_at).toISOString(),
        },
      ],
      last: { receivedAt: T0 + MIN, id: rows.dead1.id },
    });
    const withRefs = await listIndexed(env.INDEX_DB, { q: ref("order-1") }, undefined, 10);
    expect(withRefs.rows.map((row) => row.refs)).toEqual([[ref("order-1"), ref("tx-shared")]]);
  });

  it("a page says `next` only while more rows follow", async () => {
    const { source, ids } = await fixture();
    const first = await listIndexed(env.INDEX_DB, { source, status: "dead" }, undefined, 1);
    expect(first.rows.map((r) => r.id)).toEqual(ids("dead2"));
    expect(first.next).toBeDefined();
    const second = await listIndexed(env.INDEX_DB, { source, status: "dead" }, first.next, 1);
    expect(second.rows.map((r) => r.id)).toEqual(ids("dead1"));
    expect(second.next).toBeUndefined();
    const exact = await listIndexed(env.INDEX_DB, { source, status: "dead" }, undefined, 2);
    expect(exact.next).toBeUndefined();
    await expect(listIndexed(env.INDEX_DB, { source }, "garbage", 10)).rejects.toThrow("cursor is not one this API gave");
  });

  it("dead letters and quarantine in the entries shape, newest first, reasons cut to 300 characters", async () => {
    const { source, rows } = await fixture();
    const dead = await listEntries(env.INDEX_DB, "dead", { source }, undefined, 100);
    expect(dead).toEqual({
      entries: [
        { source, account: "a2", id: rows.dead2.id, reason: `${"x".repeat(299)}…`, at: T0 + 3 * MIN },
        { source, account: "a1", id: rows.dead1.id, reason: "HTTP 410", at: T0 + MIN },
      ],
    });
    const firstPage = await listEntries(env.INDEX_DB, "dead", { source }, undefined, 1);
    expect(firstPage.entries.map((e) => e.id)).toEqual([rows.dead2.id]);
    const secondPage = await listEntries(env.INDEX_DB, "dead", { source }, firstPage.cursor, 1);
    expect(secondPage).toEqual({ entries: [expect.objectContaining({ id: rows.dead1.id })] });
    expect(await listEntries(env.INDEX_DB, "quarantined", { source }, undefined, 100)).toEqual({
      entries: [{ source, account: "~quarantine", id: rows.quarantined.id, reason: "unmapped: state 42", at: T0 + 3 * MIN }],
    });
  });

  it("accounts: backlog and origin health, in (source, account) order, paged", async () => {
    const source = seedSource();
    await insertAccounts(
      ["b", "a", "c"].map((account, i) => ({
        source,
        account,
        pending: i,
        oldest_pending_at: i === 0 ? null : T0 + i,
        last_attempt_at: T0 + 10 * i,
        last_status: i === 2 ? 503 : 200,
        last_error: i === 2 ? "HTTP 503" : null,
        consecutive_failures: i === 2 ? 4 : 0,
        lag_ms: 100 * i,
        updated_at: T0 + MIN,
      })),
    );
    const all = await listAccounts(env.INDEX_DB, source, undefined, 100);
    expect(all).toEqual({
      accounts: [
        {
          source,
          account: "a",
          pending: 1,
          oldestPendingAt: "2026-05-01T10:00:00.001Z",
          lastAttemptAt: "2026-05-01T10:00:00.010Z",
          lastStatus: 200,
          lastError: null,
          consecutiveFailures: 0,
          lagMs: 100,
          updatedAt: "2026-05-01T10:01:00.000Z",
        },
        expect.objectContaining({ account: "b", pending: 0, oldestPendingAt: null, lagMs: 0 }),
        expect.objectContaining({ account: "c", pending: 2, lastStatus: 503, lastError: "HTTP 503", consecutiveFailures: 4 }),
      ],
    });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listAccounts(env.INDEX_DB, source, cursor, 1);
      seen.push(...page.accounts.map((a) => a.account));
      cursor = page.next;
    } while (cursor !== undefined);
    expect(seen).toEqual(["a", "b", "c"]);
  });

  it("index state: the largest lag among accounts that wrote in the last 15 minutes, and the newest write", async () => {
    // Far in the future, so no other test's account row is newer than these.
    const now = Date.parse("2099-01-01T00:00:00Z");
    const source = seedSource();
    const base = {
      source,
      pending: 0,
      oldest_pending_at: null,
      last_attempt_at: null,
      last_status: null,
      last_error: null,
      consecutive_failures: 0,
    };
    await insertAccounts([
      { ...base, account: "recent", lag_ms: 1200, updated_at: now - 60_000 },
      { ...base, account: "newest", lag_ms: 300, updated_at: now - 5_000 },
      { ...base, account: "stale", lag_ms: 99_000, updated_at: now - 16 * 60_000 },
    ]);
    expect(await indexState(env.INDEX_DB, now, { mode: "all", retentionDays: 90 })).toEqual({
      mode: "all",
      retentionDays: 90,
      lagMs: 1200,
      updatedAt: "2098-12-31T23:59:55.000Z",
      sinceUpdateMs: 5_000,
    });
  });
});

describe("pagination property", () => {
  const statuses = fc.constantFrom(...INDEX_STATUSES);
  const rowArb = fc.record({
    account: fc.constantFrom("a", "b", "c"),
    type: fc.constantFrom("deposit.updated", "withdrawal.updated", null),
    status: statuses,
    // Few distinct times, so many rows share a received_at and the id settles their order.
    offset: fc.integer({ min: 0, max: 6 }),
    refs: fc.subarray(["r1", "r2", "r3"]),
  });
  const filterArb = fc.record(
    {
      account: fc.constantFrom("a", "b", "c"),
      type: fc.constantFrom("deposit.updated", "withdrawal.updated"),
      status: statuses,
      from: fc.integer({ min: 0, max: 6 }),
      to: fc.integer({ min: 1, max: 7 }),
      q: fc.constantFrom("r1", "r2", "r3", "id"),
    },
    { requiredKeys: [] },
  );

  it("property: pages of any size cover exactly the filtered rows, once each, newest first; count agrees", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(rowArb, { minLength: 0, maxLength: 30 }),
        filterArb,
        fc.integer({ min: 1, max: 7 }),
        fc.nat(),
        async (specs, filterSpec, pageSize, pick) => {
          const source = seedSource();
          const rows: SeedEvent[] = specs.map((spec, i) =>
            seedEvent({
              source,
              account: spec.account,
              seq: i + 1,
              type: spec.type,
              status: spec.status,
              received_at: T0 + spec.offset * MIN,
              refs: spec.refs.map((ref) => `${source}-${ref}`),
            }),
          );
          await insertEvents(rows);
          const { q, from, to, ...rest } = filterSpec;
          // `q: "id"` searches one of the rows by its event id (or a missing one when there are none).
          const qValue =
            q === undefined
              ? undefined
              : q === "id"
                ? (rows[pick % Math.max(1, rows.length)]?.id ?? "evt_00000000000000000000000000000000")
                : `${source}-${q}`;
          const filter: IndexFilter = {
            source,
            ...rest,
            ...(from !== undefined && { from: T0 + from * MIN }),
            ...(to !== undefined && { to: T0 + Math.max(to, (from ?? 0) + 1) * MIN }),
            ...(qValue !== undefined && { q: qValue }),
          };
          const expected = rows
            .filter(
              (row) =>
                (filter.account === undefined || row.account === filter.account) &&
                (filter.type === undefined || row.type === filter.type) &&
                (filter.status === undefined || row.status === filter.status) &&
                (filter.from === undefined || row.received_at >= filter.from) &&
                (filter.to === undefined || row.received_at < filter.to) &&
                (filter.q === undefined || row.id === filter.q || row.refs.includes(filter.q)),
            )
            .sort(newestFirst)
            .map((row) => row.id);
          const paged = await allPages(filter, pageSize);
          expect(paged).toEqual(expected);
          expect(new Set(paged).size).toBe(paged.length);
          expect(await countIndexed(env.INDEX_DB, filter)).toBe(expected.length);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("query plans", () => {
  async function plan(statement: Statement): Promise<string[]> {
    const { results } = await env.INDEX_DB.prepare(`EXPLAIN QUERY PLAN ${statement.sql}`)
      .bind(...statement.params)
      .all<{ detail: string }>();
    return results.map((row) => row.detail);
  }
  const after = { receivedAt: T0, id: "evt_0123456789abcdef0123456789abcdef" };
  const range = { from: T0 - 3_600_000, to: T0 };

  it("q by event id: the primary key", async () => {
    expect(await plan(listStatement({ q: after.id, status: "dead" }, undefined, 100))).toEqual(["SEARCH e USING PRIMARY KEY (id=?)"]);
    expect(await plan(countStatement({ q: after.id }))).toEqual(["SEARCH e USING PRIMARY KEY (id=?)"]);
  });

  it("q by reference: refs by its primary key, then each event by its id", async () => {
    const expected = ["SEARCH r USING PRIMARY KEY (ref=?)", "SEARCH e USING PRIMARY KEY (id=?)", "USE TEMP B-TREE FOR ORDER BY"];
    expect(await plan(listStatement({ q: "order-1", source: "cybavo" }, after, 100))).toEqual(expected);
    expect(await plan(countStatement({ q: "order-1", ...range }))).toEqual(expected.slice(0, 2));
  });

  it("a status needing an operator: the partial index events_attention, in list order", async () => {
    expect(await plan(listStatement({ status: "dead" }, undefined, 100))).toEqual(["SEARCH e USING INDEX events_attention (status=?)"]);
    expect(await plan(listStatement({ status: "quarantined", source: "coins", ...range }, after, 100))).toEqual([
      "SEARCH e USING INDEX events_attention (status=? AND received_at>? AND received_at<?)",
    ]);
    expect(await plan(countStatement({ status: "pending", source: "coins" }))).toEqual([
      "SEARCH e USING INDEX events_attention (status=?)",
    ]);
  });

  it("a time range: events_by_time, bounded on both sides, in list order", async () => {
    expect(await plan(listStatement({ ...range, source: "cybavo", status: "delivered" }, undefined, 100))).toEqual([
      "SEARCH e USING INDEX events_by_time (received_at>? AND received_at<?)",
    ]);
    expect(await plan(listStatement({ from: range.from }, after, 100))).toEqual([
      "SEARCH e USING INDEX events_by_time (received_at>? AND received_at<?)",
    ]);
    expect(await plan(countStatement(range))).toEqual(["SEARCH e USING COVERING INDEX events_by_time (received_at>? AND received_at<?)"]);
  });

  it("no filter: newest first along events_by_time, never a sort of the table", async () => {
    expect(await plan(listStatement({}, undefined, 100))).toEqual(["SCAN e USING INDEX events_by_time"]);
    expect(await plan(listStatement({}, after, 100))).toEqual(["SEARCH e USING INDEX events_by_time (received_at<?)"]);
  });
});
