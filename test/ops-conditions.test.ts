/**
 * The episodes of the two lasting conditions (src/ops/conditions.ts and its two checks), as
 * properties against a model: whatever the sequence of rejections, backlogs and checks, the
 * gateway stores exactly one event per episode, where an episode starts at the first check that
 * finds the condition true and ends at the first check allowed to end it (the cron) that finds it
 * false. Real D1 and a real ledger; the checks' D1 rows are written directly.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type GatewayConfig, loadConfig } from "../src/config";
import { checkBacklog, checkRejections } from "../src/ops";
import { storedEvents } from "./support/gateway";

const opsEnv = {
  ...env,
  OPS_WEBHOOK_URL: "http://127.0.0.1:9/ops",
  OPS_WEBHOOK_SECRET: "whsec_dGVzdC1vcHMtd2ViaG9vay1zZWNyZXQtZm9yLXRlc3Rz",
} as Env;
const loaded = loadConfig(opsEnv);
if (!loaded.ok) throw new Error(loaded.errors.join("; "));
const config: GatewayConfig = loaded.config;

/** The stored operational events of one type and subject. */
async function countOf(type: string, subject: string): Promise<number> {
  const rows = await storedEvents("~ops", "gateway");
  return rows.filter((row) => row.type === type && JSON.parse(row.body ?? "{}").subject === subject).length;
}

let base = Date.now();

describe("gateway.source.rejections_high episodes", () => {
  it("one event per episode, whatever the rejections and the order of flush checks and cron runs", async () => {
    const step = fc.record({
      rejections: fc.nat(30),
      advanceMs: fc.integer({ min: 0, max: 200_000 }),
      check: fc.constantFrom("flush", "cron", "none"),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
        await env.INDEX_DB.batch([env.INDEX_DB.prepare("DELETE FROM rejections"), env.INDEX_DB.prepare("DELETE FROM ops_conditions")]);
        const before = await countOf("gateway.source.rejections_high", "sources/cybavo");
        base += 10_000_000_000;
        let t = base;
        const seen: { at: number; n: number }[] = [];
        let active = false;
        let episodes = 0;
        for (const s of steps) {
          t += s.advanceMs;
          if (s.rejections > 0) {
            seen.push({ at: t, n: s.rejections });
            await env.INDEX_DB.prepare(
              "INSERT INTO rejections (source, at, status, cause, count) VALUES ('cybavo', ?, 401, 'bad_signature', ?)",
            )
              .bind(t, s.rejections)
              .run();
          }
          if (s.check === "none") continue;
          const total = seen.filter((r) => r.at > t - config.opsRejectionsWindowSeconds * 1000).reduce((sum, r) => sum + r.n, 0);
          const high = total >= config.opsRejectionsThreshold;
          if (high && !active) episodes++;
          if (high) active = true;
          else if (s.check === "cron") active = false;
          await checkRejections(opsEnv, config, t, s.check === "cron" ? { end: true } : { sources: ["cybavo"], end: false });
        }
        expect((await countOf("gateway.source.rejections_high", "sources/cybavo")) - before).toBe(episodes);
      }),
      { numRuns: 25 },
    );
  }, 120_000);
});

describe("gateway.backlog.stale episodes", () => {
  it("one event per episode, whatever the account's oldest pending time between cron runs", async () => {
    const step = fc.record({
      // null: nothing pending; else how old the oldest pending event is at the check, in seconds.
      oldestAgeSeconds: fc.option(fc.integer({ min: 0, max: 2 * 3600 })),
      advanceMs: fc.integer({ min: 1, max: 900_000 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 20 }), async (steps) => {
        await env.INDEX_DB.batch([env.INDEX_DB.prepare("DELETE FROM accounts"), env.INDEX_DB.prepare("DELETE FROM ops_conditions")]);
        const account = `acct-${crypto.randomUUID()}`;
        base += 10_000_000_000;
        let t = base;
        let active = false;
        let episodes = 0;
        let startedAt = 0;
        for (const s of steps) {
          t += s.advanceMs;
          const oldest = s.oldestAgeSeconds === null ? null : t - s.oldestAgeSeconds * 1000;
          await env.INDEX_DB.prepare(
            `INSERT INTO accounts (source, account, pending, oldest_pending_at, updated_at) VALUES ('cybavo', ?1, ?2, ?3, ?4)
             ON CONFLICT (source, account) DO UPDATE SET pending = ?2, oldest_pending_at = ?3, updated_at = ?4`,
          )
            .bind(account, oldest === null ? 0 : 1, oldest, t)
            .run();
          const stale = oldest !== null && oldest <= t - config.opsBacklogSeconds * 1000;
          if (stale && !active) {
            episodes++;
            startedAt = t;
          }
          active = stale;
          await checkBacklog(opsEnv, config, t);
        }
        expect(await countOf("gateway.backlog.stale", `sources/cybavo/accounts/${account}`)).toBe(episodes);
        // An episode in progress was marked notified by the check that started it: later checks
        // do not call the ledger again.
        const { results } = await env.INDEX_DB.prepare("SELECT notified_at AS at FROM ops_conditions WHERE account = ?")
          .bind(account)
          .all<{ at: number | null }>();
        expect(results.map((r) => r.at)).toEqual(active ? [startedAt] : []);
      }),
      { numRuns: 25 },
    );
  }, 120_000);

  it("never checks the operations feed's own account", async () => {
    await env.INDEX_DB.prepare("DELETE FROM accounts").run();
    await env.INDEX_DB.prepare(
      "INSERT INTO accounts (source, account, pending, oldest_pending_at, updated_at) VALUES ('~ops', 'gateway', 3, 0, 0) ON CONFLICT DO NOTHING",
    ).run();
    const result = await checkBacklog(opsEnv, config, Date.now());
    expect(await countOf("gateway.backlog.stale", "sources/~ops/accounts/gateway")).toBe(0);
    expect(result.started).toBe(0);
  });
});
