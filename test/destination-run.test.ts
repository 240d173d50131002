/**
 * An outbox run's exchange with its destination's object (src/ledger/destination-run.ts): one
 * `take` and one `report` per run, never per event, and each attempt classified for the breaker
 * as the contract says (ok: 2xx and 4xx other than 408/429; failed: 5xx, timeouts; neither:
 * 408, 429). The real Destination object answers; the ledger's DESTINATIONS binding is wrapped
 * on the running instance to record the calls.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { now } from "../src/clock";
import type { Grant, ReportRequest, TakeRequest } from "../src/destination/contract";
import { destinationId } from "../src/destinations";
import type { AccountLedger } from "../src/ledger/AccountLedger";
import { verdictOf } from "../src/ledger/destination-run";
import { hookedDestinations } from "./support/destinations";
import { ledger, originAttempts, scriptOrigin, uniqueAccount } from "./support/gateway";
import { acceptInput } from "./support/ledger-faults";

type Call = { method: "take"; req: TakeRequest } | { method: "report"; req: ReportRequest };

/**
 * What a test does in place of the real `take` answer (the real object is asked first): the
 * workers project's breaker never opens, so a probe grant or an open hold is given here.
 */
type TakeHook = (req: TakeRequest, real: Grant) => Promise<Grant>;

/** The ledger's bindings with every call to a destination's object recorded in `calls`. */
function recording(real: Env, calls: Call[], onTake?: TakeHook): Env {
  return hookedDestinations(real, {
    beforeTake: (req) => calls.push({ method: "take", req }),
    ...(onTake !== undefined && { afterTake: onTake }),
    beforeReport: (req) => calls.push({ method: "report", req }),
  });
}

describe("one take and one report per outbox run", () => {
  it("five events, the third answered 429 then 503 then 200: each run takes once and reports its outcomes once", async () => {
    const account = `run-${uniqueAccount()}`;
    const stub = ledger("cybavo", account);
    const calls: Call[] = [];
    await scriptOrigin(account, [200, 200, 429, 503, 200, 200, 200]);
    // The destination's bucket may start empty (src/destination/bucket.ts): a first ask fills it.
    const destination = destinationId(`${env.TEST_ORIGIN_URL}/events`, undefined);
    const hub = env.DESTINATIONS.get(env.DESTINATIONS.idFromName(destination));
    await hub.take({ destination, account: "warm-up", source: "cybavo", want: 1 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const inputs = await Promise.all(["a", "b", "c", "d", "e"].map((key) => acceptInput("cybavo", account, key)));
    await runInDurableObject(stub, async (instance: AccountLedger, state) => {
      const holder = instance as unknown as { env: Env };
      const real = holder.env;
      holder.env = recording(real, calls);
      try {
        // The claims and the deletion share one storage commit: the runtime never fires this alarm.
        for (const input of inputs) await instance.accept(input);
        await state.storage.deleteAlarm();
        await instance.alarm();
      } finally {
        holder.env = real;
      }
    });
    // Five wanted, five granted (the workers project's ceiling is out of reach); two delivered,
    // the third answered 429 (neither ok nor failed) and waits for its retry: the run ends.
    expect(calls.map((c) => c.method)).toEqual(["take", "report"]);
    expect(calls[0]!.req).toMatchObject({ account: `cybavo/${account}`, source: "cybavo", want: 5 });
    expect((calls[1]!.req as ReportRequest).report).toEqual({
      ok: 2,
      failed: 0,
      trailingFailed: 0,
      unused: 2,
      lastStatus: 429,
      lastError: "HTTP 429",
    });
  });

  it("classifies each outcome for the breaker", () => {
    expect(verdictOf({ kind: "delivered", status: 200 })).toBe("ok");
    expect(verdictOf({ kind: "rejected", status: 410, error: "HTTP 410" })).toBe("ok");
    expect(verdictOf({ kind: "retry", status: 503, error: "HTTP 503" })).toBe("failed");
    expect(verdictOf({ kind: "retry", status: 302, error: "HTTP 302" })).toBe("failed");
    expect(verdictOf({ kind: "retry", error: "timeout after 1000 ms" })).toBe("failed");
    expect(verdictOf({ kind: "retry", error: "network error: TypeError" })).toBe("failed");
    expect(verdictOf({ kind: "retry", status: 429, error: "HTTP 429" })).toBe("neither");
    expect(verdictOf({ kind: "retry", status: 408, error: "HTTP 408" })).toBe("neither");
  });
});

/** Five events of a fresh account claimed, then one alarm run with the destination calls recorded (and `onTake` answering). */
async function oneRun(
  account: string,
  onTake: ((instance: AccountLedger) => TakeHook) | undefined,
  bindings: (real: Env) => Env = (real) => real,
  alarms = 1,
): Promise<{ calls: Call[]; alarm: number | null; ranAt: number }> {
  const stub = ledger("cybavo", account);
  const calls: Call[] = [];
  const inputs = await Promise.all(["a", "b", "c", "d", "e"].map((key) => acceptInput("cybavo", account, key)));
  return runInDurableObject(stub, async (instance: AccountLedger, state) => {
    const holder = instance as unknown as { env: Env };
    const real = holder.env;
    holder.env = recording(bindings(real), calls, onTake?.(instance));
    try {
      for (const input of inputs) await instance.accept(input);
      await state.storage.deleteAlarm();
      const ranAt = now();
      for (let i = 0; i < alarms; i++) {
        await state.storage.deleteAlarm();
        await instance.alarm();
      }
      return { calls, alarm: await state.storage.getAlarm(), ranAt };
    } finally {
      holder.env = real;
    }
  });
}

const reports = (calls: Call[]) => calls.filter((c) => c.method === "report").map((c) => (c.req as ReportRequest).report);

describe("a probe's report", () => {
  it("a probe answered 429 reports probe none (counted neither ok nor failed), not failed", async () => {
    const account = `probe-${uniqueAccount()}`;
    await scriptOrigin(account, [429]);
    const { calls } = await oneRun(account, () => async (_req, real) => {
      if (real.kind === "send") await hand(real);
      return { kind: "send", count: 1, probe: true };
    });
    expect(reports(calls)).toEqual([
      { ok: 0, failed: 0, trailingFailed: 0, unused: 0, probe: "none", lastStatus: 429, lastError: "HTTP 429" },
    ]);
  });

  it("a probe answered 503 reports probe failed; answered 200, probe ok", async () => {
    for (const [status, probe] of [
      [503, "failed"],
      [200, "ok"],
    ] as const) {
      const account = `probe-${uniqueAccount()}`;
      await scriptOrigin(account, [status]);
      const { calls } = await oneRun(account, () => async (_req, real) => {
        if (real.kind === "send") await hand(real);
        return { kind: "send", count: 1, probe: true };
      });
      expect(reports(calls).map((r) => r.probe)).toEqual([probe]);
    }
  });
});

/** Gives a grant the tests replaced back to the real object (its tokens are not lost to other tests). */
async function hand(grant: Grant & { kind: "send" }): Promise<void> {
  const destination = destinationId(`${env.TEST_ORIGIN_URL}/events`, undefined);
  const hub = env.DESTINATIONS.get(env.DESTINATIONS.idFromName(destination));
  await hub.report({
    destination,
    account: "test-hand-back",
    source: "cybavo",
    report: { ok: 0, failed: 0, trailingFailed: 0, unused: grant.count },
  });
}

describe("a pause during the take", () => {
  it("paused while the take was on its way: nothing is sent, the grant goes back, the pause's hold stays", async () => {
    const account = `pause-${uniqueAccount()}`;
    await scriptOrigin(account, [200, 200, 200, 200, 200]);
    const { calls } = await oneRun(account, (instance) => async (_req, real) => {
      await instance.pause("operator@test");
      return real;
    });
    const granted = calls[0]?.method === "take" ? 5 : 0;
    expect(granted).toBe(5);
    expect((await originAttempts(account)).length).toBe(0);
    expect(reports(calls)).toEqual([{ ok: 0, failed: 0, trailingFailed: 0, unused: 5 }]);
    const delivery = await ledger("cybavo", account).delivery();
    expect(delivery).toMatchObject({ paused: true, pausedBy: "operator@test", held: "paused" });
    expect(delivery.heldSince).toBe(delivery.pausedAt);
  });

  it("a probe granted to an account paused meanwhile reports probe none (handed on), having sent nothing", async () => {
    const account = `pause-${uniqueAccount()}`;
    const { calls } = await oneRun(account, (instance) => async (_req, real) => {
      if (real.kind === "send") await hand(real);
      await instance.pause("operator@test");
      return { kind: "send", count: 1, probe: true };
    });
    expect((await originAttempts(account)).length).toBe(0);
    expect(reports(calls)).toEqual([{ ok: 0, failed: 0, trailingFailed: 0, unused: 1, probe: "none" }]);
  });
});

describe("a wake during a take answered held", () => {
  it("woken while the take that answered open was on its way: the next alarm asks again at once, not at the recheck", async () => {
    const account = `wake-${uniqueAccount()}`;
    const recheck = 10 * 60_000;
    let takes = 0;
    const { calls } = await oneRun(
      account,
      (instance) => async (_req, real) => {
        if (real.kind === "send") await hand(real);
        takes += 1;
        if (takes > 1) return { kind: "held", reason: "open", recheckAt: now() + recheck };
        await instance.wake();
        return { kind: "held", reason: "open", recheckAt: now() + recheck };
      },
      undefined,
      2,
    );
    // The first run's take was answered open, but the wake came meanwhile: the second run asks again.
    expect(calls.filter((c) => c.method === "take").length).toBe(2);
  });
});

describe("a held account whose source was removed", () => {
  it("the alarm after its run is the head's retry time, not now (no alarm loop)", async () => {
    const account = `gone-${uniqueAccount()}`;
    const stub = ledger("cybavo", account);
    // First run: the destination holds the account (open breaker, recheck in 10 minutes).
    await oneRun(account, () => async (_req, real) => {
      if (real.kind === "send") await hand(real);
      return { kind: "held", reason: "open", recheckAt: now() + 10 * 60_000 };
    });
    const calls: Call[] = [];
    const { alarm, ranAt } = await runInDurableObject(stub, async (instance: AccountLedger, state) => {
      const holder = instance as unknown as { env: Env };
      const real = holder.env;
      const sources = JSON.parse(real.SOURCES as string) as Record<string, unknown>;
      delete sources.cybavo;
      holder.env = recording({ ...real, SOURCES: JSON.stringify(sources) } as Env, calls);
      try {
        // The breaker closed (it wakes its waiters) after the source left the configuration.
        await instance.wake();
        await state.storage.deleteAlarm();
        const ranAt = now();
        await instance.alarm();
        return { alarm: await state.storage.getAlarm(), ranAt };
      } finally {
        holder.env = real;
      }
    });
    expect(calls).toEqual([]);
    // The first retry of an attempt is seconds away (src/delivery.ts RETRY), never now.
    expect(alarm).not.toBeNull();
    expect(alarm!).toBeGreaterThanOrEqual(ranAt + 1_000);
  });
});
