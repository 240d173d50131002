/**
 * Index retention (src/index-db/retention.ts, run by the Worker's cron through src/scheduled.ts)
 * against a real local D1 database: exactly the expired delivered and re-processed events go,
 * with exactly their references, oldest first in bounded batches; rows that still need an
 * operator, newer rows and other events' references stay; stale account rows go.
 *
 * The rows are dated around 2000 or earlier, with the run's clock there too, so the cutoff lies
 * before every row any other test file writes (today's, or 2026's). Each test of this file has
 * an era of its own, earlier than the one before (ERA), so its runs never reach the rows an
 * earlier test left: every count is this test's own.
 */
import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../src/config";
import worker from "../src/index";
import { DAY_MS, PRUNE_ACCOUNTS_SQL, PRUNE_EVENTS_SQL, PRUNE_REFS_SQL, pruneIndex } from "../src/index-db/retention";
import { SCHEDULED_TASKS } from "../src/scheduled";
import { captureLogs } from "./support/gateway";
import { insertAccounts, insertEvents, type SeedAccount, seedEvent, seedSource } from "./support/index-rows";

const YEAR_MS = 365 * DAY_MS;
let era = Date.parse("2000-06-01T00:00:00Z") + YEAR_MS;
/** The clock and the 90-day cutoff of the next test: a year before the previous test's. */
function nextEra() {
  era -= YEAR_MS;
  return { NOW: era, CUTOFF: era - 90 * DAY_MS };
}

async function idsOf(source: string): Promise<string[]> {
  const { results } = await env.INDEX_DB.prepare("SELECT id FROM events WHERE source = ? ORDER BY received_at, id")
    .bind(source)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

async function refsOf(prefix: string): Promise<string[]> {
  const { results } = await env.INDEX_DB.prepare("SELECT ref || ' ' || id AS row FROM refs WHERE ref LIKE ? ORDER BY ref, id")
    .bind(`${prefix}%`)
    .all<{ row: string }>();
  return results.map((r) => r.row);
}

async function accountsOf(source: string): Promise<string[]> {
  const { results } = await env.INDEX_DB.prepare("SELECT account FROM accounts WHERE source = ? ORDER BY account")
    .bind(source)
    .all<{ account: string }>();
  return results.map((r) => r.account);
}

function account(source: string, name: string, updatedAt: number): SeedAccount {
  return {
    source,
    account: name,
    pending: 0,
    oldest_pending_at: null,
    last_attempt_at: null,
    last_status: null,
    last_error: null,
    consecutive_failures: 0,
    lag_ms: null,
    updated_at: updatedAt,
  };
}

/** Expired and kept rows of every kind under one fresh source; refs prefixed by the source. */
async function seed(NOW: number, CUTOFF: number) {
  const source = seedSource();
  const ref = (name: string) => `${source}-${name}`;
  const rows = {
    oldDelivered: seedEvent({ source, status: "delivered", received_at: CUTOFF - 10 * DAY_MS, refs: [ref("order-1"), ref("tx-shared")] }),
    justExpired: seedEvent({ source, status: "delivered", received_at: CUTOFF - 1, refs: [ref("order-2")] }),
    oldReprocessed: seedEvent({ source, account: "~quarantine", status: "reprocessed", type: null, received_at: CUTOFF - 5 * DAY_MS }),
    oldDead: seedEvent({ source, status: "dead", received_at: CUTOFF - 20 * DAY_MS, refs: [ref("order-3")] }),
    oldQuarantined: seedEvent({ source, account: "~quarantine", status: "quarantined", type: null, received_at: CUTOFF - 20 * DAY_MS }),
    oldPending: seedEvent({ source, status: "pending", received_at: CUTOFF - 2 * DAY_MS }),
    atCutoff: seedEvent({ source, status: "delivered", received_at: CUTOFF, refs: [ref("order-4")] }),
    recent: seedEvent({ source, status: "delivered", received_at: NOW - DAY_MS, refs: [ref("tx-shared")] }),
  };
  await insertEvents(Object.values(rows));
  await insertAccounts([account(source, "stale", CUTOFF - 1), account(source, "at-cutoff", CUTOFF), account(source, "recent", NOW - 1000)]);
  return { source, rows, ref };
}

describe("pruneIndex", () => {
  it("deletes exactly the expired delivered and re-processed events, their refs and stale accounts; nothing else", async () => {
    const { NOW, CUTOFF } = nextEra();
    const { source, rows, ref } = await seed(NOW, CUTOFF);
    const result = await pruneIndex(env.INDEX_DB, NOW, 90);
    expect(result).toEqual({ events: 3, refs: 3, accounts: 1, done: true });
    const kept = [rows.oldDead, rows.oldQuarantined, rows.oldPending, rows.atCutoff, rows.recent];
    expect(await idsOf(source)).toEqual(kept.sort((a, b) => a.received_at - b.received_at || (a.id < b.id ? -1 : 1)).map((r) => r.id));
    expect(await refsOf(source)).toEqual(
      [`${ref("order-3")} ${rows.oldDead.id}`, `${ref("order-4")} ${rows.atCutoff.id}`, `${ref("tx-shared")} ${rows.recent.id}`].sort(),
    );
    expect(await accountsOf(source)).toEqual(["at-cutoff", "recent"]);
    // A second run finds nothing more.
    expect(await pruneIndex(env.INDEX_DB, NOW, 90)).toEqual({ events: 0, refs: 0, accounts: 0, done: true });
  });

  it("goes oldest first in bounded batches; a run that used all its batches says so, and the next one goes on", async () => {
    const { NOW, CUTOFF } = nextEra();
    const source = seedSource();
    const expired = Array.from({ length: 7 }, (_, i) =>
      seedEvent({ source, status: "delivered", received_at: CUTOFF - (10 - i) * DAY_MS, refs: [`${source}-r${i}`] }),
    );
    const recent = seedEvent({ source, status: "delivered", received_at: NOW });
    await insertEvents([...expired, recent]);
    await insertAccounts(Array.from({ length: 5 }, (_, i) => account(source, `old${i}`, CUTOFF - 1 - i)));

    const limits = { batchRows: 3, maxBatches: 2 };
    expect(await pruneIndex(env.INDEX_DB, NOW, 90, limits)).toEqual({ events: 6, refs: 6, accounts: 5, done: false });
    expect(await idsOf(source)).toEqual([expired[6]!.id, recent.id]);
    expect(await refsOf(source)).toEqual([`${source}-r6 ${expired[6]!.id}`]);

    await insertAccounts(Array.from({ length: 7 }, (_, i) => account(source, `older${i}`, CUTOFF - 1 - i)));
    expect(await pruneIndex(env.INDEX_DB, NOW, 90, limits)).toEqual({ events: 1, refs: 1, accounts: 6, done: false });
    expect(await accountsOf(source)).toEqual(["older6"]); // stale accounts go in key order: the last is left for the next run
    expect(await pruneIndex(env.INDEX_DB, NOW, 90, limits)).toEqual({ events: 0, refs: 0, accounts: 1, done: true });
    expect(await idsOf(source)).toEqual([recent.id]);
  });

  it("a refs cell that is not a JSON array deletes the event and no reference, and never fails the run", async () => {
    const { NOW, CUTOFF } = nextEra();
    const source = seedSource();
    const damaged = seedEvent({ source, status: "delivered", received_at: CUTOFF - DAY_MS });
    await insertEvents([damaged]);
    await env.INDEX_DB.prepare("UPDATE events SET refs = ? WHERE id = ?").bind("{not json", damaged.id).run();
    expect(await pruneIndex(env.INDEX_DB, NOW, 90)).toEqual({ events: 1, refs: 0, accounts: 0, done: true });
    expect(await idsOf(source)).toEqual([]);
  });

  it("query plans: refs and events by their keys, accounts by one bounded scan", async () => {
    const { CUTOFF } = nextEra();
    const plan = async (sql: string) =>
      (await env.INDEX_DB.prepare(`EXPLAIN QUERY PLAN ${sql}`).bind(CUTOFF, 1000).all<{ detail: string }>()).results.map((r) => r.detail);
    const refsPlan = await plan(PRUNE_REFS_SQL);
    expect(refsPlan).toContain("SEARCH refs USING PRIMARY KEY (ref=? AND id=?)");
    expect(refsPlan).toContain("SEARCH events USING INDEX events_by_time (received_at<?)");
    expect(refsPlan.filter((d) => /^SCAN (refs|events)\b/.test(d))).toEqual([]);
    const eventsPlan = await plan(PRUNE_EVENTS_SQL);
    expect(eventsPlan).toContain("SEARCH events USING PRIMARY KEY (id=?)");
    expect(eventsPlan).toContain("SEARCH events USING INDEX events_by_time (received_at<?)");
    expect(eventsPlan.filter((d) => /^SCAN events\b/.test(d))).toEqual([]);
    expect(await plan(PRUNE_ACCOUNTS_SQL)).toContain("SEARCH accounts USING PRIMARY KEY (source=? AND account=?)");
  });
});

describe("INDEX_RETENTION_DAYS", () => {
  it("defaults to 90, takes a positive integer, refuses anything else", () => {
    const base = env as unknown as Record<string, unknown>;
    const days = (value: string | undefined) => {
      const loaded = parseConfig({ ...base, INDEX_RETENTION_DAYS: value });
      return loaded.ok ? loaded.config.indexRetentionDays : loaded.errors;
    };
    expect(days(undefined)).toBe(90);
    expect(days("")).toBe(90);
    expect(days("30")).toBe(30);
    for (const bad of ["0", "-1", "1.5", "ninety"]) expect(days(bad)).toEqual(["INDEX_RETENTION_DAYS: must be a positive integer"]);
  });
});

describe("the cron trigger", () => {
  async function runCron(scheduledTime: number, bindings: Env = env) {
    const run = worker.scheduled;
    if (run === undefined) throw new Error("the Worker exports no scheduled handler");
    await run(createScheduledController({ scheduledTime, cron: "*/15 * * * *" }), bindings);
  }

  it("prunes the index with INDEX_RETENTION_DAYS at the trigger's time, and logs what it deleted", async () => {
    const { NOW, CUTOFF } = nextEra();
    const { source, rows } = await seed(NOW, CUTOFF);
    const { lines } = await captureLogs(() => runCron(NOW, { ...env, INDEX_RETENTION_DAYS: "95" } as Env));
    // 95 days: only the event received 100 days before NOW (and no account) is past it.
    expect(await idsOf(source)).not.toContain(rows.oldDelivered.id);
    expect(await idsOf(source)).toContain(rows.justExpired.id);
    expect(lines.filter((l) => l.msg === "scheduled" && l.task === "index_retention")).toEqual([
      { msg: "scheduled", level: "info", task: "index_retention", events: 1, refs: 2, accounts: 0, done: true, ms: expect.any(Number) },
    ]);
  });

  it("a D1 failure is logged at warn, the handler does not throw, and every task still runs", async () => {
    const failing = new Proxy(env.INDEX_DB, {
      get: (target, name) =>
        name === "prepare" || name === "batch"
          ? () => {
              throw new Error("D1 unavailable (test)");
            }
          : Reflect.get(target, name),
    });
    const { lines } = await captureLogs(() => runCron(nextEra().NOW, { ...env, INDEX_DB: failing }));
    expect(lines.filter((l) => l.msg.startsWith("scheduled") && l.task === "index_retention")).toEqual([
      { msg: "scheduled_error", level: "warn", task: "index_retention", error: "Error", message: "D1 unavailable (test)" },
    ]);
    // Each task ran on its own: the failure of one never kept the next from running.
    expect(lines.filter((l) => l.msg.startsWith("scheduled")).map((l) => l.task)).toEqual(SCHEDULED_TASKS.map(([name]) => name));
  });
});
