/**
 * A dead letter's operational event (`gateway.event.dead_lettered`, src/ledger/dead-letter.ts) is
 * kept durably until it is stored in the operations feed: when storing it fails (`opsEvent`
 * answers "failed"), the notice stays in the ledger's `_meta`, the alarm comes back for it, and
 * the next run stores it under the same key (one event, however many tries).
 *
 * The failure: the account ledger's LEDGER binding is wrapped so that the operations feed's
 * object (`~ops/gateway`) throws on `accept`, as an unreachable object would.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { AccountLedger } from "../../src/ledger/AccountLedger";
import { accountObjectName } from "../../src/object-names";
import { ledger, scriptOrigin, uniqueAccount } from "../support/gateway";
import { acceptInput } from "../support/ledger-faults";

/** `real` with the operations feed's object failing every `accept`. */
function opsUnreachable(real: Env): Env {
  const namespace = real.LEDGER;
  const ops = namespace.idFromName(accountObjectName("~ops", "gateway"));
  const failing = new Proxy(namespace, {
    get: (target, name) => {
      if (name !== "get") {
        const value = Reflect.get(target, name);
        return typeof value === "function" ? value.bind(target) : value;
      }
      return (id: DurableObjectId) => {
        const stub = target.get(id);
        if (!id.equals(ops)) return stub;
        return new Proxy(stub, {
          get: (s, method) =>
            method === "accept" ? () => Promise.reject(new Error("simulated: ops ledger unreachable")) : Reflect.get(s, method),
        });
      };
    },
  });
  return { ...real, LEDGER: failing } as Env;
}

async function opsNotices(eventId: string): Promise<number> {
  const ops = await ledger("~ops", "gateway").events({ limit: 1000 });
  return ops.filter((e) => e.type === "gateway.event.dead_lettered" && e.body?.includes(eventId)).length;
}

describe("a dead letter's operational event", () => {
  it("storing it failed: the notice is kept in _meta, the alarm comes back, the next run stores it once", async () => {
    const account = `dln-${uniqueAccount()}`;
    const stub = ledger("cybavo", account);
    await scriptOrigin(account, [410]);
    const input = await acceptInput("cybavo", account, "only");

    const first = await runInDurableObject(stub, async (instance: AccountLedger, state) => {
      const holder = instance as unknown as { env: Env };
      const real = holder.env;
      holder.env = opsUnreachable(real);
      try {
        await instance.accept(input);
        await state.storage.deleteAlarm();
        await instance.alarm();
        const kept = state.storage.sql.exec("SELECT value FROM _meta WHERE key = 'dead_letter_notices'").toArray();
        return { kept: kept.map((r) => JSON.parse(String(r.value)) as { id: string }[]), alarm: await state.storage.getAlarm() };
      } finally {
        holder.env = real;
      }
    });
    const [dead] = await stub.events({ state: "dead", limit: 10 });
    expect(dead?.id).toBe(input.id);
    expect(await opsNotices(input.id)).toBe(0);
    // Kept durably (not only in this isolate's memory), and the alarm is set to try again.
    expect(first.kept.map((list) => list.map((l) => l.id))).toEqual([[input.id]]);
    expect(first.alarm).not.toBeNull();

    // The feed's object answers again: the next run stores it; later runs add nothing.
    for (let run = 0; run < 2; run++) {
      await runInDurableObject(stub, async (instance: AccountLedger, state) => {
        await state.storage.deleteAlarm();
        await instance.alarm();
      });
    }
    expect(await opsNotices(input.id)).toBe(1);
    const left = await runInDurableObject(stub, (_instance, state) =>
      state.storage.sql.exec("SELECT value FROM _meta WHERE key = 'dead_letter_notices'").toArray(),
    );
    expect(left).toEqual([]);
  });
});
