/**
 * One ledger class, three roles (src/ledger/identity.ts): an account's ledger, a source's
 * quarantine, a source's counters. The first write of its kind records an object's role; a
 * method of another role then refuses with a clear error and writes nothing.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AccountLedger } from "../src/ledger/AccountLedger";
import { uniqueAccount } from "./support/gateway";
import { acceptInput, eventually, ledgerState } from "./support/ledger-faults";

type Stub = DurableObjectStub<AccountLedger>;
type Role = "account" | "quarantine" | "stats";

const fresh = (): Stub => env.LEDGER.get(env.LEDGER.idFromName(`roles-test/${uniqueAccount()}`));

/** One write of each role's kind. Source "roles-test" is not configured: nothing is delivered. */
const writes: Record<Role, (stub: Stub, n: number) => Promise<unknown>> = {
  account: async (stub, n) => stub.accept(await acceptInput("roles-test", "a", `key-${n}`)),
  quarantine: (stub, n) =>
    stub.quarantine({
      id: `evt_q${n}`,
      source: "roles-test",
      account: "~quarantine",
      idempotencyKey: `raw:${n}`,
      reason: "unmapped: test",
      raw: new Uint8Array([n % 256]),
      receivedAt: Date.now(),
    }),
  stats: (stub) => stub.addCounters({ accepted: 1 }),
};

/**
 * What a call was refused with, or "resolved". Read with `then` at once: a stub's promise
 * rejected before vitest's `rejects` handles it is reported as unhandled.
 */
function refusal(call: Promise<unknown>): Promise<string> {
  return call.then(
    () => "resolved",
    (err: unknown) => String(err),
  );
}

/** Every table row of the object, to show a refused call wrote nothing. */
function snapshot(stub: Stub) {
  return runInDurableObject(stub, (_instance, state) => {
    const sql = state.storage.sql;
    return ["_meta", "events", "nonces", "counters"].map((table) => sql.exec(`SELECT * FROM ${table}`).toArray());
  });
}

describe("ledger roles", () => {
  it("the first write records the role; other roles' methods refuse, naming both, and write nothing", async () => {
    const stub = fresh();
    await writes.quarantine(stub, 1);
    // Its alarm (the index row) is done first: what follows must change nothing.
    await runDurableObjectAlarm(stub);
    await eventually(async () => expect((await ledgerState(stub)).indexWork).toBe(0));
    const before = await snapshot(stub);
    expect(await refusal(writes.account(stub, 1))).toContain(
      "ledger accept() belongs to the account role; this object has the quarantine role",
    );
    expect(await refusal(writes.stats(stub, 1))).toContain(
      "ledger addCounters() belongs to the stats role; this object has the quarantine role",
    );
    expect(await refusal(stub.counters())).toContain("ledger counters() belongs to the stats role; this object has the quarantine role");
    expect(await refusal(stub.redeliver("evt_q1"))).toContain(
      "ledger redeliver() belongs to the account role; this object has the quarantine role",
    );
    expect(await refusal(stub.replay(0))).toContain("ledger replay() belongs to the account role; this object has the quarantine role");
    // A nonce is not recorded for a refused claim either.
    const claim = { ...(await acceptInput("roles-test", "a", "k")), replay: { nonce: "n-1", expiresAt: Date.now() + 60_000 } };
    expect(await refusal(stub.accept(claim))).toContain("this object has the quarantine role");
    expect(await snapshot(stub)).toEqual(before);
    // Its own methods, and the event reads, still answer.
    expect((await stub.quarantined()).map((q) => q.id)).toEqual(["evt_q1"]);
    expect((await stub.events()).map((e) => e.id)).toEqual(["evt_q1"]);
  });

  it("an account object refuses quarantine and counters; a stats object refuses claims", async () => {
    const account = fresh();
    await writes.account(account, 1);
    expect(await refusal(writes.quarantine(account, 1))).toContain(
      "ledger quarantine() belongs to the quarantine role; this object has the account role",
    );
    expect(await refusal(account.raw("x"))).toContain("ledger raw() belongs to the quarantine role; this object has the account role");
    expect(await refusal(account.markReprocessed("x", "y"))).toContain("this object has the account role");
    const stats = fresh();
    await writes.stats(stats, 1);
    expect(await refusal(writes.account(stats, 1))).toContain(
      "ledger accept() belongs to the account role; this object has the stats role",
    );
    expect(await refusal(stats.quarantined())).toContain(
      "ledger quarantined() belongs to the quarantine role; this object has the stats role",
    );
    expect(await stats.counters()).toEqual({ accepted: 1 });
  });

  it("property: whatever the order of writes, every write of the first write's role succeeds and every other refuses", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom<Role>("account", "quarantine", "stats"), { minLength: 1, maxLength: 6 }), async (roles) => {
        const stub = fresh();
        for (const [n, role] of roles.entries()) {
          const call = writes[role](stub, n);
          expect(await refusal(call)).toEqual(
            role === roles[0] ? "resolved" : expect.stringContaining(`this object has the ${roles[0]} role`),
          );
        }
      }),
      { numRuns: 20 },
    );
  }, 60_000);
});
