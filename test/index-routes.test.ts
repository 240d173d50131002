/**
 * The operators' index routes (src/admin/index-routes.ts) through the Worker's fetch handler:
 * the contract's response shapes on rows seeded into the real local D1 database, 400 with a
 * clear message on bad input, 401 without the token, no-store on every answer.
 */

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { admin, call, secrets } from "./support/gateway";
import { insertAccounts, insertEvents, seedEvent, seedSource } from "./support/index-rows";

const T0 = Date.parse("2026-05-01T10:00:00Z");
const MIN = 60_000;

const ROUTES = ["/events", "/events/count", "/accounts", "/index", "/dead-letters", "/quarantine"];

async function json<T>(path: string): Promise<{ status: number; body: T; cacheControl: string | null }> {
  const response = await admin("GET", path);
  return { status: response.status, body: await response.json<T>(), cacheControl: response.headers.get("cache-control") };
}

describe("authentication", () => {
  it.each(ROUTES)("GET %s without the token or with a wrong one → 401", async (path) => {
    for (const token of [null, "wrong", `${secrets.ADMIN_TOKEN}x`]) {
      const response = await admin("GET", path, token);
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: "unauthorized" });
    }
  });
});

describe("bad input → 400 with the reason", () => {
  it.each([
    ["/events?status=failed", "status must be one of pending, delivered, dead, quarantined, reprocessed"],
    ["/events?from=yesterday", "from must be RFC 3339 (2026-05-01T00:00:00Z) or Unix milliseconds"],
    ["/events?from=2026-05-02T00:00:00Z&to=2026-05-01T00:00:00Z", "to must be later than from"],
    ["/events?limit=0", "limit must be a positive integer"],
    ["/events?cursor=abc", "cursor is not one this API gave"],
    ["/events?source=a&source=b", "source must be given once, as text"],
    ["/events/count?stauts=dead", 'unknown parameter "stauts"'],
    ["/events/count?cursor=x", 'unknown parameter "cursor"'],
    ["/dead-letters?cursor=abc", "cursor is not one this API gave"],
    ["/dead-letters?status=pending", 'unknown parameter "status"'],
    ["/quarantine?limit=-5", "limit must be a positive integer"],
    ["/accounts?cursor=abc", "cursor is not one this API gave"],
    ["/accounts?account=x", 'unknown parameter "account"'],
    ["/accounts?limit=x", "limit must be a positive integer"],
  ])("GET %s", async (path, error) => {
    const { status, body, cacheControl } = await json(path);
    expect({ status, body, cacheControl }).toEqual({ status: 400, body: { error }, cacheControl: "no-store" });
  });
});

describe("answers", () => {
  async function seeded() {
    const source = seedSource();
    const rows = {
      delivered: seedEvent({ source, account: "a1", seq: 1, received_at: T0, refs: [`${source}-order`], delivered_at: T0 + 500 }),
      dead: seedEvent({ source, account: "a1", seq: 2, received_at: T0 + MIN, status: "dead", reason: "HTTP 410", last_status: 410 }),
      pending: seedEvent({ source, account: "a 2", seq: 1, received_at: T0 + 2 * MIN, status: "pending", next_attempt_at: T0 + 3 * MIN }),
      dead2: seedEvent({ source, account: "a 2", seq: 2, received_at: T0 + 3 * MIN, status: "dead", reason: "HTTP 422" }),
      quarantined: seedEvent({
        source,
        account: "~quarantine",
        seq: 1,
        received_at: T0 + 4 * MIN,
        status: "quarantined",
        type: null,
        reason: "unmapped: state 42",
      }),
    };
    await insertEvents(Object.values(rows));
    return { source, rows };
  }

  it("GET /admin/events: newest first, the IndexRow shape, paged by `next`", async () => {
    const { source, rows } = await seeded();
    const first = await json<{ events: { id: string }[]; next?: string }>(`/events?source=${source}&limit=2`);
    expect(first.status).toBe(200);
    expect(first.cacheControl).toBe("no-store");
    expect(first.body.events.map((e) => e.id)).toEqual([rows.quarantined.id, rows.dead2.id]);
    const second = await json<{ events: { id: string }[]; next?: string }>(
      `/events?source=${source}&limit=2&cursor=${encodeURIComponent(first.body.next ?? "")}`,
    );
    expect(second.body.events.map((e) => e.id)).toEqual([rows.pending.id, rows.dead.id]);
    const third = await json<{ events: { id: string }[]; next?: string }>(
      `/events?source=${source}&limit=2&cursor=${encodeURIComponent(second.body.next ?? "")}`,
    );
    expect(third.body).toEqual({
      events: [
        {
          id: rows.delivered.id,
          source,
          account: "a1",
          seq: 1,
          type: "deposit.updated",
          status: "delivered",
          amount: "1.50",
          currency: "USDT",
          refs: [`${source}-order`],
          receivedAt: "2026-05-01T10:00:00.000Z",
          deliveredAt: "2026-05-01T10:00:00.500Z",
          nextAttemptAt: null,
          attempts: 1,
          lastStatus: 200,
          reason: null,
          indexedAt: new Date(rows.delivered.indexed_at).toISOString(),
        },
      ],
    });
  });

  it("GET /admin/events filters: account with a space, status, time range, q by reference and by id", async () => {
    const { source, rows } = await seeded();
    const ids = async (query: string) => (await json<{ events: { id: string }[] }>(`/events?${query}`)).body.events.map((e) => e.id);
    expect(await ids(`source=${source}&account=a%202`)).toEqual([rows.dead2.id, rows.pending.id]);
    expect(await ids(`source=${source}&status=dead`)).toEqual([rows.dead2.id, rows.dead.id]);
    expect(await ids(`source=${source}&from=2026-05-01T10:01:00Z&to=${T0 + 3 * MIN}`)).toEqual([rows.pending.id, rows.dead.id]);
    expect(await ids(`q=${source}-order`)).toEqual([rows.delivered.id]);
    expect(await ids(`q=${rows.pending.id}`)).toEqual([rows.pending.id]);
    expect(await ids(`q=${source}-order&status=dead`)).toEqual([]);
  });

  it("GET /admin/events/count: the number of rows the list would page through", async () => {
    const { source } = await seeded();
    expect((await json(`/events/count?source=${source}`)).body).toEqual({ count: 5 });
    expect((await json(`/events/count?source=${source}&status=dead`)).body).toEqual({ count: 2 });
    expect((await json(`/events/count?source=${source}&account=a1&status=pending`)).body).toEqual({ count: 0 });
  });

  it("GET /admin/dead-letters and /admin/quarantine: the entries shape, newest first, `cursor` while more remain", async () => {
    const { source, rows } = await seeded();
    const first = await json<{ entries: unknown[]; cursor?: string }>(`/dead-letters?source=${source}&limit=1`);
    expect(first.body.entries).toEqual([{ source, account: "a 2", id: rows.dead2.id, reason: "HTTP 422", at: T0 + 3 * MIN }]);
    expect(typeof first.body.cursor).toBe("string");
    const second = await json(`/dead-letters?source=${source}&limit=1&cursor=${encodeURIComponent(first.body.cursor ?? "")}`);
    expect(second.body).toEqual({ entries: [{ source, account: "a1", id: rows.dead.id, reason: "HTTP 410", at: T0 + MIN }] });
    expect((await json(`/quarantine?source=${source}`)).body).toEqual({
      entries: [{ source, account: "~quarantine", id: rows.quarantined.id, reason: "unmapped: state 42", at: T0 + 4 * MIN }],
    });
  });

  it("GET /admin/accounts and /admin/index", async () => {
    const source = seedSource();
    // Written in the future, so no other row of this database is newer.
    const updated = Date.parse("2099-01-01T00:00:00Z");
    await insertAccounts([
      {
        source,
        account: "w1",
        pending: 3,
        oldest_pending_at: T0,
        last_attempt_at: T0 + 1000,
        last_status: 503,
        last_error: "HTTP 503",
        consecutive_failures: 2,
        lag_ms: 987_654,
        updated_at: updated,
      },
    ]);
    expect((await json(`/accounts?source=${source}`)).body).toEqual({
      accounts: [
        {
          source,
          account: "w1",
          pending: 3,
          oldestPendingAt: "2026-05-01T10:00:00.000Z",
          lastAttemptAt: "2026-05-01T10:00:01.000Z",
          lastStatus: 503,
          lastError: "HTTP 503",
          consecutiveFailures: 2,
          lagMs: 987_654,
          updatedAt: "2099-01-01T00:00:00.000Z",
        },
      ],
    });
    const state = await json(`/index`);
    expect(state).toEqual({
      status: 200,
      cacheControl: "no-store",
      body: { mode: "all", retentionDays: 90, lagMs: 987_654, updatedAt: "2099-01-01T00:00:00.000Z", sinceUpdateMs: 0 },
    });
  });

  it("GET /admin/index says the configured INDEX_MODE and INDEX_RETENTION_DAYS", async () => {
    const bindings = { ...env, INDEX_MODE: "attention", INDEX_RETENTION_DAYS: "30" } as Env;
    const request = new Request("https://gateway.test/admin/index", { headers: { authorization: `Bearer ${secrets.ADMIN_TOKEN}` } });
    const body = await (await call(request, bindings)).json<Record<string, unknown>>();
    expect({ mode: body.mode, retentionDays: body.retentionDays }).toEqual({ mode: "attention", retentionDays: 30 });
  });
});
