/**
 * KV (the edge cache SEEN) failing on every get, put, delete and list for a while: during
 * ingest, delivery, dead-lettering and redelivery. KV is a cache, never a gate: every event is
 * still acked and delivered in its account's order and no account stalls. The operators' index
 * is D1 (test/index-feed.test.ts has its outages): a KV outage leaves its lists current.
 *
 * The Worker gets KV-failing bindings per request; the Durable Objects get their bindings from
 * the runtime, so their own `env` is wrapped (test/support/ledger-faults.ts). Real KV, real
 * Durable Objects, the real origin.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { eventId, QUARANTINE_ACCOUNT } from "../src/ingress";
import { admin, cybavoCallback, drain, originEvents, postCybavo, scriptOrigin, uniqueAccount } from "./support/gateway";
import { expectScheduled, failKvIn, ledger, ledgerState, workerEnvWithKvDown } from "./support/ledger-faults";

const SOURCE = "cybavo";

async function listed(kind: "dead-letters" | "quarantine"): Promise<{ id: string; account: string; reason: string }[]> {
  const response = await admin("GET", `/${kind}?source=${SOURCE}&limit=1000`);
  expect(response.status).toBe(200);
  return (await response.json<{ entries: { id: string; account: string; reason: string }[] }>()).entries;
}

describe("KV outage", () => {
  it("during ingest, delivery, dead-lettering and redeliver: all delivered in order, nothing stalls, the lists catch up", async () => {
    const [a, b] = [uniqueAccount(), uniqueAccount()];
    const down = workerEnvWithKvDown();
    const stubs = [ledger(SOURCE, String(a)), ledger(SOURCE, String(b)), ledger(SOURCE, QUARANTINE_ACCOUNT)];
    const restore = await Promise.all(stubs.map(failKvIn));

    // A's first event is refused (a dead letter, redelivered during the outage); B's first is
    // retried once and then refused (it stays dead).
    await scriptOrigin(String(a), [410]);
    await scriptOrigin(String(b), [503, 410]);

    // Ingest: each callback sent twice (a provider retry), every one acked; the edge cache
    // read and write both fail, so every retry reaches its Durable Object, which dedupes.
    const sent = new Map<number, string[]>([
      [a, []],
      [b, []],
    ]);
    for (let i = 0; i < 5; i++) {
      for (const wallet of [a, b]) {
        const callback = cybavoCallback({ wallet_id: wallet, serial: wallet * 10 + i });
        for (let copy = 0; copy < 2; copy++) {
          const response = await postCybavo(SOURCE, callback, undefined, {}, down);
          expect(response.status).toBe(200);
          expect(await response.text()).toBe("OK");
        }
        sent.get(wallet)!.push(await eventId(SOURCE, String(wallet), String(wallet * 10 + i)));
      }
    }
    // A callback the adapter cannot read: quarantined.
    const unreadable = cybavoCallback({ wallet_id: a, state: 42 });
    expect((await postCybavo(SOURCE, unreadable, undefined, {}, down)).status).toBe(200);

    // Delivery and dead-lettering, KV still down.
    await drain(SOURCE, String(a));
    await drain(SOURCE, String(b));
    const [deadA, ...restA] = sent.get(a)!;
    const [deadB, ...restB] = sent.get(b)!;
    expect((await originEvents(String(a))).map((e) => e.id)).toEqual(restA);
    expect((await originEvents(String(b))).map((e) => e.id)).toEqual(restB);

    // Redeliver during the outage: queued and delivered.
    const redeliver = await admin("POST", `/sources/${SOURCE}/accounts/${a}/events/${deadA}/redeliver`);
    expect(redeliver.status).toBe(202);
    await drain(SOURCE, String(a));
    expect((await originEvents(String(a))).map((e) => e.id)).toEqual([...restA, deadA]);

    // Nothing stalls: nothing pending, and the index (D1) took every change during the outage:
    // B's dead letter is listed, A's redelivered one is not, the quarantined callback is.
    for (const stub of stubs) await expectScheduled(stub);
    await runDurableObjectAlarm(stubs[2]!);
    for (const stub of stubs) expect((await ledgerState(stub)).indexWork).toBe(0);
    const dead = await listed("dead-letters");
    expect(dead.filter((e) => e.id === deadB)).toEqual([expect.objectContaining({ account: String(b), reason: "HTTP 410" })]);
    expect(dead.map((e) => e.id)).not.toContain(deadA);
    const quarantined = await listed("quarantine");
    expect(quarantined.filter((e) => e.reason === "unmapped: state 42" && e.account === QUARANTINE_ACCOUNT)).toHaveLength(1);
    for (const undo of restore) await undo();

    // And the accounts go on: a new event after the outage is delivered next, in order.
    const after = cybavoCallback({ wallet_id: b, serial: b * 10 + 9 });
    expect((await postCybavo(SOURCE, after)).status).toBe(200);
    await drain(SOURCE, String(b));
    expect((await originEvents(String(b))).map((e) => e.id)).toEqual([...restB, await eventId(SOURCE, String(b), String(b * 10 + 9))]);
  });
});
