/**
 * A grant is good for GRANT_TTL_MS after its answer arrives (src/destination/contract.ts): a run
 * stops sending from it then, gives the rest back in its report, and the next run takes again.
 * Without it a run could spend tokens granted up to 20 s before, and the origin saw more than the
 * ceiling's bound in a window (docs/benchmarks.md section 9).
 *
 * One account and its destination's object on the simulated clock (../support/simulation.ts), a
 * ceiling of 5 a second (capacity 5). Each request to the origin takes 400 simulated ms: the
 * test's global `fetch` is wrapped to move the clock before it calls the real one (the real
 * origin answers). The ledger's DESTINATIONS binding is wrapped to note when each take's answer
 * arrived and what each report said.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { advanceClock, now } from "../../src/clock";
import { GRANT_TTL_MS, type Grant, type OutcomeReport } from "../../src/destination/contract";
import { destinationId } from "../../src/destinations";
import { accountObjectName } from "../../src/object-names";
import { hookedDestinations } from "../support/destinations";
import { uniqueAccount } from "../support/gateway";
import { acceptAt, originCount, Simulation, simulatedEnv, useEnv } from "../support/simulation";

const SOURCE = "grantttl";
const EVENTS = 30;
const REQUEST_MS = 400;

type Noted =
  | { kind: "take"; at: number; grant: Grant }
  | { kind: "report"; at: number; report: OutcomeReport }
  | { kind: "send"; at: number };

/** `real` with its DESTINATIONS binding noting each take's answer and each report in `notes`. */
function noting(real: Env, notes: Noted[]): Env {
  return hookedDestinations(real, {
    afterTake: (_req, grant) => {
      notes.push({ kind: "take", at: now(), grant });
      return grant;
    },
    beforeReport: (req) => notes.push({ kind: "report", at: now(), report: req.report }),
  });
}

describe("a grant is good for GRANT_TTL_MS", () => {
  it("requests of 400 ms under a ceiling of 5/s: no run sends from a grant older than GRANT_TTL_MS; the rest goes back; all 30 arrive", async () => {
    const path = `/grant-ttl-${uniqueAccount()}`;
    const url = `${env.TEST_ORIGIN_URL}${path}`;
    const notes: Noted[] = [];
    const bindings = noting(simulatedEnv(SOURCE, url, { DESTINATION_MAX_PER_SECOND: "5", INDEX_MODE: "off" }), notes);
    const hub = env.DESTINATIONS.get(env.DESTINATIONS.idFromName(destinationId(url, undefined)));
    const name = `t-${uniqueAccount()}`;
    const stub = env.LEDGER.get(env.LEDGER.idFromName(accountObjectName(SOURCE, name)));
    for (const object of [hub, stub]) await useEnv(object, bindings);
    const sim = new Simulation(new Map([[name, stub]]), new Map([["destination", hub]]), bindings);
    for (let k = 0; k < EVENTS; k++) await stub.accept(await acceptAt(SOURCE, name, `k${k}`));
    await sim.refresh();

    const realFetch = globalThis.fetch;
    globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const target = input instanceof Request ? input.url : String(input);
      if (target === url) {
        notes.push({ kind: "send", at: now() });
        advanceClock(REQUEST_MS);
      }
      return realFetch(input, init);
    }) as typeof fetch;
    try {
      await sim.run({ done: async () => (await originCount(path)).events >= EVENTS, maxSteps: 500 });
    } finally {
      globalThis.fetch = realFetch;
    }

    expect((await originCount(path)).events).toBe(EVENTS);
    // Every send comes after a take that granted, within GRANT_TTL_MS of that grant's answer.
    let grantAt: number | undefined;
    let granted = 0;
    let sent = 0;
    const ages: number[] = [];
    for (const note of notes) {
      if (note.kind === "take") {
        grantAt = note.grant.kind === "send" ? note.at : undefined;
        granted = note.grant.kind === "send" ? note.grant.count : 0;
        sent = 0;
      } else if (note.kind === "send") {
        expect(grantAt, "a send without a grant").toBeDefined();
        ages.push(note.at - grantAt!);
        sent += 1;
      } else {
        // The report gives back what the run did not send.
        expect(note.report.unused).toBe(granted - sent);
        grantAt = undefined;
      }
    }
    expect(ages.length).toBe(EVENTS);
    expect(Math.max(...ages)).toBeLessThan(GRANT_TTL_MS);
    // At 400 ms a request, a grant of 5 sends 3 (at 0, 400 and 800 ms) and gives 2 back.
    expect(notes.filter((n) => n.kind === "report").some((n) => n.kind === "report" && (n.report.unused ?? 0) > 0)).toBe(true);
  }, 60_000);
});
