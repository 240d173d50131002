/**
 * One poison event: the origin answers 500 to that payload only (scripts/origin.mjs body fault).
 * Production breaker defaults; a simulated three days (../support/simulation.ts), events arriving
 * every two hours on four healthy accounts while the poisoned account's head fails on its retry
 * schedule. The breaker never opens, the other accounts' events flow as they arrive, the poison
 * is dead-lettered after its budget (16 attempts and two days) with its operational event, and
 * the events behind it in its own account follow, in order.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { now } from "../../src/clock";
import { RETRY } from "../../src/delivery";
import { destinationId } from "../../src/destinations";
import { accountObjectName } from "../../src/object-names";
import { uniqueAccount } from "../support/gateway";
import { acceptAt, originEventsAt, originFault, Simulation, simulatedEnv } from "../support/simulation";

const SOURCE = "poison";
const HOUR = 3_600_000;

describe("a poison event", () => {
  it("answered 500 to that payload only: the breaker stays closed, other accounts flow, the poison is dead-lettered after its budget and its account goes on", async () => {
    const run = uniqueAccount();
    const path = `/poison-${run}`;
    const url = `${env.TEST_ORIGIN_URL}${path}`;
    const bindings = simulatedEnv(SOURCE, url, { INDEX_MODE: "off" });
    const hub = env.DESTINATIONS.get(env.DESTINATIONS.idFromName(destinationId(url, undefined)));
    const poisoned = `p-${run}`;
    const healthy = Array.from({ length: 4 }, (_, i) => `h${i}-${run}`);
    const ledgers = new Map(
      [poisoned, ...healthy].map((name) => [name, env.LEDGER.get(env.LEDGER.idFromName(accountObjectName(SOURCE, name)))]),
    );
    const sim = new Simulation(ledgers, new Map([["destination", hub]]), bindings);
    const poisonKey = `poison-${run}`;
    await originFault({ match: `"key":"${poisonKey}"` }, 500);

    const poisonedLedger = ledgers.get(poisoned)!;
    for (const key of ["p0", poisonKey, "p2", "p3"]) await poisonedLedger.accept(await acceptAt(SOURCE, poisoned, key));
    const start = now();
    let round = 0;
    for (; now() < start + 72 * HOUR; round++) {
      for (const name of healthy) await ledgers.get(name)!.accept(await acceptAt(SOURCE, name, `r${round}`));
      await sim.refresh();
      await sim.run({ until: now() + 2 * HOUR });
      const status = await hub.status();
      expect(status.state, `breaker after round ${round}`).toBe("closed");
    }
    expect((await hub.status()).history).toEqual([]);

    // The healthy accounts: every event delivered as it arrived (the same simulated second), in order.
    const received = await originEventsAt(path);
    for (const name of healthy) {
      const rows = await ledgers.get(name)!.events({ limit: 1000 });
      expect(rows.map((r) => r.state)).toEqual(Array.from({ length: round }, () => "delivered"));
      for (const row of rows) expect(row.delivered_at! - row.received_at).toBeLessThan(1000);
      expect(received.filter((e) => e.json.subject === name).map((e) => e.json.data.payload.key)).toEqual(
        Array.from({ length: round }, (_, r) => `r${r}`),
      );
    }

    // The poison: dead after at least RETRY.maxAttempts attempts and two days; the rest of its account delivered after it, in order.
    const rows = await poisonedLedger.events({ limit: 100 });
    expect(rows.map((r) => r.state)).toEqual(["delivered", "dead", "delivered", "delivered"]);
    const detail = (await poisonedLedger.event(rows[1]!.id))!;
    expect(detail.attempts.length).toBeGreaterThanOrEqual(RETRY.maxAttempts);
    expect(detail.attempts.every((a) => a.status === 500)).toBe(true);
    expect(detail.attempts.at(-1)!.at - detail.attempts[0]!.at).toBeGreaterThanOrEqual(RETRY.windowMs);
    expect(received.filter((e) => e.json.subject === poisoned).map((e) => e.json.data.payload.key)).toEqual(["p0", "p2", "p3"]);
    expect(rows[2]!.delivered_at!).toBeGreaterThanOrEqual(detail.attempts.at(-1)!.at);

    // Its operational event, stored once in the operations webhook's outbox (src/ops/).
    const ops = await env.LEDGER.get(env.LEDGER.idFromName(accountObjectName("~ops", "gateway"))).events({ limit: 1000 });
    const deadLettered = ops.filter((e) => e.type === "gateway.event.dead_lettered" && e.body?.includes(rows[1]!.id));
    expect(deadLettered).toHaveLength(1);
    await originFault({ match: `"key":"${poisonKey}"` }, null);
  }, 600_000);
});
