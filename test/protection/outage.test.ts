/**
 * The issue's outage: the origin is down for a simulated five days while 1,000 events for 50
 * accounts wait. Production breaker defaults (the `protection` project); the simulation
 * (../support/simulation.ts) runs every alarm of the 50 ledgers and their destination's object in
 * time order on the simulated clock, against the real origin (scripts/origin.mjs), whose path for
 * this test answers 503 until the outage ends.
 *
 * The ceiling is set to 2 deliveries a second for this test (DESTINATION_MAX_PER_SECOND), so the
 * drain after recovery lasts about 500 simulated seconds and its rate is measured over many
 * refills of the bucket; the recovery ramp (RECOVERY_RAMP_SECONDS, 30 s from a tenth) costs about
 * 3 % of it. INDEX_MODE is off: the operators' index is not what this test is about.
 * BREAKER_RECHECK_SECONDS is 6 h instead of 1 h: each held account asks its destination again
 * 20 times in the five days instead of 120 (the simulation runs each of those asks as a step, and
 * six times fewer keep the test near a minute); the probes, the wake-ups on close and the ceiling
 * are as in production.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { now } from "../../src/clock";
import { loadConfig } from "../../src/config";
import type { BreakerTransition } from "../../src/destination/contract";
import { destinationId } from "../../src/destinations";
import type { EventRow } from "../../src/ledger/schema";
import { accountObjectName } from "../../src/object-names";
import { uniqueAccount } from "../support/gateway";
import { acceptAt, originCount, originEventsAt, originFault, Simulation, simulatedEnv, useEnv } from "../support/simulation";

const SOURCE = "outage";
const ACCOUNTS = 50;
const PER_ACCOUNT = 20;
const CEILING = 2;
const DAY = 24 * 3_600_000;

describe("origin down for five days", () => {
  it("1,000 events across 50 accounts: nothing dead-lettered, at most one probe per interval while open, then each delivered once, in order, at the ceiling", async () => {
    const path = `/outage-${uniqueAccount()}`;
    const url = `${env.TEST_ORIGIN_URL}${path}`;
    const bindings = simulatedEnv(SOURCE, url, {
      DESTINATION_MAX_PER_SECOND: String(CEILING),
      INDEX_MODE: "off",
      BREAKER_RECHECK_SECONDS: String(6 * 3600),
    });
    const loaded = loadConfig(bindings);
    if (!loaded.ok) throw new Error(loaded.errors.join("; "));
    const config = loaded.config;
    const id = destinationId(url, undefined);
    const hub = env.DESTINATIONS.get(env.DESTINATIONS.idFromName(id));
    const names = Array.from({ length: ACCOUNTS }, (_, i) => `o${i}-${uniqueAccount()}`);
    const ledgers = new Map(names.map((name) => [name, env.LEDGER.get(env.LEDGER.idFromName(accountObjectName(SOURCE, name)))]));
    for (const stub of [hub, ...ledgers.values()]) await useEnv(stub, bindings);
    const sim = new Simulation(ledgers, new Map([["destination", hub]]), bindings);

    await originFault({ path }, 503);
    const outageStart = now();
    // The events arrive over the outage's first minutes, interleaved across accounts.
    for (let k = 0; k < PER_ACCOUNT; k++) {
      for (const name of names) await ledgers.get(name)!.accept(await acceptAt(SOURCE, name, `k${k}`));
    }
    await sim.refresh();

    // Five days down: every request the origin sees, at the simulated time of the step that sent it.
    const requests: number[] = [];
    let seen = 0;
    let openedAt: number | undefined;
    const outageEnd = outageStart + 5 * DAY;
    await sim.run({
      until: outageEnd,
      after: async (step) => {
        const { attempts } = await originCount(path);
        // One alarm run of one account sends at most one request while the origin fails (its head blocks it).
        expect(attempts - seen, `requests in the step at ${step.at}`).toBeLessThanOrEqual(1);
        if (attempts > seen) requests.push(step.at);
        seen = attempts;
        // When it opened (its history keeps the last 100 transitions: the five days' probes push the first out).
        if (openedAt === undefined && (await hub.status()).state !== "closed") openedAt = step.at;
      },
    });
    expect((await hub.status()).state).not.toBe("closed");
    expect(openedAt).toBeDefined();
    const opened = { at: openedAt! };
    // Before it opened: the failures that opened it (each one account's head), within the breaker's thresholds.
    const before = requests.filter((at) => at <= opened.at);
    expect(before.length).toBeGreaterThanOrEqual(config.breakerMinAttempts);
    expect(before.length).toBeLessThanOrEqual(config.breakerConsecutiveFailures);
    // While open: the probes, each at least the probe interval after the one before, the
    // interval doubling from BREAKER_PROBE_SECONDS to BREAKER_PROBE_MAX_SECONDS.
    const probes = requests.filter((at) => at > opened.at);
    let interval = config.breakerProbeSeconds * 1000;
    let previous = opened.at;
    for (const at of probes) {
      expect(at - previous).toBeGreaterThanOrEqual(interval);
      previous = at;
      interval = Math.min(interval * 2, config.breakerProbeMaxSeconds * 1000);
    }
    // Five days at intervals of 30 s doubling to 1 h: 7 probes in the first 63.5 min, then one an hour.
    const maxProbes = 7 + Math.floor((5 * DAY - 63.5 * 60_000) / 3_600_000);
    expect(probes.length).toBeGreaterThanOrEqual(maxProbes - 2);
    expect(probes.length).toBeLessThanOrEqual(maxProbes);

    // The origin is back: the next probe closes the breaker and the backlog drains.
    await originFault({ path }, null);
    await sim.run({ done: async () => (await originCount(path)).events >= ACCOUNTS * PER_ACCOUNT, every: 25 });

    const rows = new Map<string, EventRow[]>();
    for (const [name, stub] of ledgers) rows.set(name, await stub.events({ limit: 1000 }));
    const all = [...rows.values()].flat();
    expect(all.filter((r) => r.state === "dead")).toEqual([]);
    expect(all.filter((r) => r.state === "delivered")).toHaveLength(ACCOUNTS * PER_ACCOUNT);

    // Each event once, in its account's order (CloudEvents `sequence`).
    const received = await originEventsAt(path);
    expect(received).toHaveLength(ACCOUNTS * PER_ACCOUNT);
    expect(new Set(received.map((e) => e.id)).size).toBe(ACCOUNTS * PER_ACCOUNT);
    for (const name of names) {
      const mine = received.filter((e) => e.json.subject === name);
      expect(mine.map((e) => e.json.data.payload.key)).toEqual(Array.from({ length: PER_ACCOUNT }, (_, k) => `k${k}`));
      const sequences = mine.map((e) => e.json.sequence);
      expect(sequences).toEqual([...sequences].sort());
    }

    // The drain, in simulated time: from the breaker's close to the last delivery, within 10 %
    // of the ceiling, and never above it by more than the bucket holds (rate × w + capacity).
    const after = await hub.status();
    const closed = after.history.find((t: BreakerTransition) => t.to === "closed")!;
    expect(closed).toBeDefined();
    const times = all.map((r) => r.delivered_at!).sort((a, b) => a - b);
    const seconds = (times.at(-1)! - closed.at) / 1000;
    const rate = (ACCOUNTS * PER_ACCOUNT) / seconds;
    expect(rate).toBeGreaterThanOrEqual(CEILING * 0.9);
    expect(rate).toBeLessThanOrEqual(CEILING * 1.1);
    for (let i = 0; i < times.length; i++) {
      const windowEnd = times[i]! + 10_000;
      let j = i;
      while (j < times.length && times[j]! < windowEnd) j++;
      expect(j - i, `deliveries in the 10 s from ${times[i]}`).toBeLessThanOrEqual(CEILING * 10 + CEILING);
    }
  }, 900_000);
});
