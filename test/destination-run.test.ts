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
import type { ReportRequest, TakeRequest } from "../src/destination/contract";
import { destinationId } from "../src/destinations";
import type { AccountLedger } from "../src/ledger/AccountLedger";
import { verdictOf } from "../src/ledger/destination-run";
import { ledger, scriptOrigin, uniqueAccount } from "./support/gateway";
import { acceptInput } from "./support/ledger-faults";

type Call = { method: "take"; req: TakeRequest } | { method: "report"; req: ReportRequest };

/** The ledger's bindings with every call to a destination's object recorded in `calls`. */
function recording(real: Env, calls: Call[]): Env {
  const namespace = real.DESTINATIONS;
  const destinations = {
    idFromName: (name: string) => namespace.idFromName(name),
    get: (id: DurableObjectId) => {
      const stub = namespace.get(id);
      return new Proxy(stub, {
        get: (target, name) => {
          if (name !== "take" && name !== "report") return Reflect.get(target, name);
          return (req: TakeRequest & ReportRequest) => {
            calls.push({ method: name, req } as Call);
            // Called as a method of the stub: an RPC stub's method has no `call` of its own.
            return (target as unknown as Record<string, (r: unknown) => Promise<unknown>>)[name]!(req);
          };
        },
      });
    },
  };
  return { ...real, DESTINATIONS: destinations } as unknown as Env;
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
