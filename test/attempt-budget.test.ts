/**
 * The attempt budget under origin protection (src/ledger/attempt-budget.ts): no event is
 * dead-lettered before it has had RETRY.maxAttempts counted attempts and two days of un-held
 * time since its first failed attempt. A fast-check property over any interleaving of failed
 * attempts, holds (an open breaker, a pause), probes and waits, run on a real ledger object's
 * SQLite with the code the outbox runs: `recordFailedAttempt`, `retryAt` and the hold's
 * `held`/`release` (src/ledger/hold.ts).
 */
import { runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RETRY } from "../src/delivery";
import type { AccountLedger } from "../src/ledger/AccountLedger";
import { recordFailedAttempt, retryAt } from "../src/ledger/attempt-budget";
import { Holds } from "../src/ledger/hold";
import type { LedgerStorage } from "../src/ledger/storage";
import { ledger, uniqueAccount } from "./support/gateway";

type Step =
  | { kind: "wait"; ms: number }
  /** An attempt when the event is due (not held): it fails. */
  | { kind: "fail"; status: number }
  /** The destination holds the account (open breaker or paused). */
  | { kind: "hold"; reason: "open" | "paused" }
  /** An open breaker lets this account probe: one attempt, which fails, then held again. */
  | { kind: "probe" }
  /** The hold ends (breaker closed, resumed): the next take grants sending. */
  | { kind: "release" };

const HOUR = 3_600_000;
/** An outage: held, `probes` failed probes spread over `hours`, then released. */
const outage = fc
  .record({
    hours: fc.integer({ min: 1, max: 96 }),
    probes: fc.integer({ min: 0, max: 12 }),
    reason: fc.constantFrom("open" as const, "paused" as const),
  })
  .map(({ hours, probes, reason }): Step[] => [
    { kind: "hold", reason },
    ...Array.from({ length: probes }, (): Step[] => [
      { kind: "wait", ms: Math.floor((hours * HOUR) / (probes + 1)) },
      { kind: "probe" },
    ]).flat(),
    { kind: "wait", ms: Math.floor((hours * HOUR) / (probes + 1)) },
    { kind: "release" },
  ]);
const single: fc.Arbitrary<Step> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("wait" as const), ms: fc.integer({ min: 0, max: 10 * HOUR }) }) },
  { weight: 8, arbitrary: fc.record({ kind: fc.constant("fail" as const), status: fc.constantFrom(500, 502, 503) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("hold" as const), reason: fc.constantFrom("open" as const, "paused" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("probe" as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("release" as const) }) },
);
/** Any interleaving: single steps (a hold may start and end anywhere) and whole outages. */
const steps = fc
  .array(fc.oneof({ weight: 4, arbitrary: single.map((s) => [s]) }, { weight: 1, arbitrary: outage }), {
    minLength: 25,
    maxLength: 60,
    size: "max",
  })
  .map((chunks) => chunks.flat());

/** Plays one interleaving for event `seq`: a problem (undefined: none), and whether it ended dead-lettered. */
function play(gate: LedgerStorage, seq: number, steps: readonly Step[]): { problem?: string; dead: boolean } {
  const holds = new Holds(gate);
  let t = 1_900_000_000_000;
  let attempts = 0;
  let counted = 0;
  let due = t;
  let held = false;
  let firstFailedAt: number | undefined;
  /** Held time since the first failed attempt, as the model counts it. */
  let heldSinceFirst = 0;
  const advance = (to: number) => {
    if (to <= t) return;
    if (held && firstFailedAt !== undefined) heldSinceFirst += to - Math.max(t, firstFailedAt);
    t = to;
  };
  const attempt = (probe: boolean): number | undefined => {
    attempts += 1;
    if (!probe) counted += 1;
    firstFailedAt ??= t;
    recordFailedAttempt(gate, { seq, attempt: attempts, at: t, outcome: "retry", status: 503, error: "HTTP 503", ms: 5, probe });
    return retryAt(gate, { seq, attempts, now: t, retryAfterMs: undefined, probe });
  };
  for (const s of steps) {
    if (s.kind === "wait") advance(t + s.ms);
    else if (s.kind === "hold" && !held) {
      holds.held(s.reason, t, t + HOUR);
      held = true;
    } else if (s.kind === "release" && held) {
      // The hold ends: the head goes at once, whatever its retry time (src/ledger/outbox.ts).
      holds.release({ seq, attempts }, t);
      held = false;
      due = t;
    } else if (s.kind === "probe" && held) {
      // The probe's take grants one attempt: the hold ends, the attempt fails, the breaker holds again.
      holds.release({ seq, attempts }, t);
      held = false;
      const next = attempt(true);
      if (next === undefined) return { problem: `a probe's failure dead-lettered the event (attempt ${attempts})`, dead: true };
      due = next;
      holds.held("open", t, t + HOUR);
      held = true;
    } else if (s.kind === "fail" && !held) {
      advance(due);
      const next = attempt(false);
      if (next === undefined) {
        const unheld = t - firstFailedAt! - heldSinceFirst;
        if (counted < RETRY.maxAttempts) return { problem: `dead-lettered after ${counted} counted attempts`, dead: true };
        if (unheld < RETRY.windowMs)
          return { problem: `dead-lettered after ${unheld} ms of un-held time (held ${heldSinceFirst} ms)`, dead: true };
        return { dead: true };
      }
      due = next;
    }
  }
  if (held) holds.release({ seq, attempts }, t);
  return { dead: false };
}

describe("attempt budget under holds and probes", () => {
  it("property: no event is dead-lettered before RETRY.maxAttempts counted attempts and two days of un-held time", async () => {
    const stub = ledger("cybavo", `budget-${uniqueAccount()}`);
    await runInDurableObject(stub, (instance: AccountLedger) => {
      const gate = (instance as unknown as { gate: LedgerStorage }).gate;
      let seq = 0;
      fc.assert(
        fc.property(steps, (interleaving) => {
          seq += 1;
          expect(play(gate, seq, interleaving).problem).toBeUndefined();
        }),
        { numRuns: 500 },
      );
    });
  }, 60_000);

  it("15 failures, then an outage of five days with hourly probes, then the 16th failure: still pending (about 41 of its 48 hours un-held)", async () => {
    const stub = ledger("cybavo", `budget-${uniqueAccount()}`);
    const result = await runInDurableObject(stub, (instance: AccountLedger) => {
      const gate = (instance as unknown as { gate: LedgerStorage }).gate;
      // The first 15 attempts at their due times (about 40 h nominally), then the hold.
      const steps: Step[] = Array.from({ length: 15 }, () => ({ kind: "fail", status: 503 }) as const);
      steps.push({ kind: "hold", reason: "open" });
      for (let h = 0; h < 120; h++) steps.push({ kind: "wait", ms: HOUR }, { kind: "probe" });
      steps.push({ kind: "release" }, { kind: "fail", status: 503 });
      return play(gate, 1, steps);
    });
    // Counted as before this change (every attempt, all the time), it is dead: 135 attempts, 6 days.
    expect(result).toEqual({ dead: false });
  });
});
