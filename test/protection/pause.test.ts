/**
 * Pausing one account (AccountLedger `pause`/`resume`, src/ledger/hold.ts): its events are
 * acknowledged and stored as always, none is sent while it is paused, and on resume all of them go
 * out in order; another account of the same source is not held meanwhile. Real time, the
 * runtime's own alarms, production breaker defaults.
 */
import { describe, expect, it } from "vitest";
import { runAlarmNow } from "../support/alarms";
import { captureLogs, cybavoCallback, ledger, originEvents, postCybavo, uniqueAccount } from "../support/gateway";
import { eventually } from "../support/ledger-faults";

const EVENTS = 20;

describe("pause and resume an account", () => {
  it("20 events while paused: acked, none sent; other accounts unaffected; on resume all 20 arrive in order", async () => {
    const paused = uniqueAccount();
    const other = uniqueAccount();
    const stub = ledger("cybavo", String(paused));
    const { result, lines } = await captureLogs(() => stub.pause("ops@example.com"));
    expect(result).toEqual({ paused: true, changed: true });
    expect(lines.filter((l) => l.msg === "account_paused").map((l) => ({ level: l.level, by: l.by }))).toEqual([
      { level: "info", by: "ops@example.com" },
    ]);
    expect(await stub.pause("someone-else")).toEqual({ paused: true, changed: false });

    // Both accounts get 20 callbacks, interleaved: every one is acknowledged at once.
    const serials: number[] = [];
    for (let i = 0; i < EVENTS; i++) {
      const serial = uniqueAccount();
      serials.push(serial);
      const forPaused = await postCybavo("cybavo", cybavoCallback({ wallet_id: paused, serial }));
      const forOther = await postCybavo("cybavo", cybavoCallback({ wallet_id: other, serial: uniqueAccount() }));
      expect([forPaused.status, forOther.status]).toEqual([200, 200]);
    }
    expect((await stub.events({ state: "pending", limit: 100 })).length).toBe(EVENTS);

    // The other account's events are delivered by the runtime's own alarms meanwhile.
    await eventually(async () => expect(await originEvents(String(other))).toHaveLength(EVENTS), 30_000);
    // The paused one sends nothing, even when its alarm is forced.
    await runAlarmNow(stub);
    await runAlarmNow(stub);
    expect(await originEvents(String(paused))).toEqual([]);
    const held = await stub.delivery();
    expect(held).toMatchObject({ paused: true, pausedBy: "ops@example.com", held: "paused" });
    expect(held.pausedAt).toBe(held.heldSince);

    const resumed = await captureLogs(() => stub.resume("ops@example.com"));
    expect(resumed.result).toEqual({ paused: false, changed: true });
    expect(resumed.lines.filter((l) => l.msg === "account_resumed").map((l) => ({ level: l.level, by: l.by }))).toEqual([
      { level: "info", by: "ops@example.com" },
    ]);
    // Resume sets the alarm due now: the runtime delivers all 20, in order, each once.
    await eventually(async () => expect(await originEvents(String(paused))).toHaveLength(EVENTS), 30_000);
    const received = await originEvents(String(paused));
    const stored = await stub.events({ limit: 100 });
    expect(received.map((e) => e.id)).toEqual(stored.map((r) => r.id));
    expect(received.map((e) => (e.json.data.payload as { serial: number }).serial)).toEqual(serials);
    expect(await stub.delivery()).toEqual({ paused: false, pausedAt: null, pausedBy: null, held: null, heldSince: null });
    expect(await stub.resume("ops@example.com")).toEqual({ paused: false, changed: false });
  }, 90_000);
});
