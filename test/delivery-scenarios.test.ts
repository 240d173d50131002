/**
 * Delivery under faults, inside workerd with a real origin on loopback. Retries are
 * fast-forwarded by running the account's alarm at once (runDurableObjectAlarm); the origin's
 * replies are scripted per subject.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { eventId } from "../src/ingress";
import {
  admin,
  cybavoCallback,
  drain,
  ledger,
  originAttempts,
  originEvents,
  postCybavo,
  scriptOrigin,
  storedEvents,
  uniqueAccount,
} from "./support/gateway";
import { ageRows } from "./support/ledger-sql";

async function send(wallet: number, serial: number) {
  const response = await postCybavo("cybavo", cybavoCallback({ wallet_id: wallet, serial }));
  expect(response.status).toBe(200);
  return eventId("cybavo", String(wallet), String(serial));
}

describe("delivery policy", () => {
  it("503 three times then 200: one success, the same webhook-id on every attempt, FIFO held, other accounts not delayed", async () => {
    const [a, b] = [uniqueAccount(), uniqueAccount()];
    await scriptOrigin(String(a), [503, 503, 503]);
    const a1 = await send(a, a * 10 + 1);
    const a2 = await send(a, a * 10 + 2);
    const b1 = await send(b, b * 10 + 1);

    // The other account is delivered while A's head is still failing.
    await drain("cybavo", String(b));
    expect((await originEvents(String(b))).map((e) => e.id)).toEqual([b1]);
    const aRows = await storedEvents("cybavo", String(a));
    expect(aRows.map((r) => r.state)).toEqual(["pending", "pending"]);
    expect(await originEvents(String(a))).toEqual([]);

    await drain("cybavo", String(a));
    const attempts = await originAttempts(String(a));
    expect(attempts.map((x) => [x.id, x.status])).toEqual([
      [a1, 503],
      [a1, 503],
      [a1, 503],
      [a1, 200],
      [a2, 200],
    ]);
    expect((await originEvents(String(a))).map((e) => e.id)).toEqual([a1, a2]);
    const detail = await (await admin("GET", `/sources/cybavo/accounts/${a}/events/${a1}`)).json<{
      attempts: { status: number; outcome: string }[];
    }>();
    expect(detail.attempts.map((x) => [x.outcome, x.status])).toEqual([
      ["retry", 503],
      ["retry", 503],
      ["retry", 503],
      ["delivered", 200],
    ]);
  });

  it("origin down while 100 events for 10 accounts arrive: all delivered after recovery, in order, none lost or doubled", async () => {
    const accounts = Array.from({ length: 10 }, () => uniqueAccount());
    for (const account of accounts) await scriptOrigin(String(account), [503, 502, 503]);
    const sent = new Map<number, string[]>(accounts.map((a) => [a, []]));
    for (let i = 0; i < 10; i++) {
      for (const account of accounts) sent.get(account)!.push(await send(account, account * 100 + i));
    }
    for (const account of accounts) await drain("cybavo", String(account));
    let total = 0;
    for (const account of accounts) {
      const received = (await originEvents(String(account))).map((e) => e.id);
      expect(received).toEqual(sent.get(account));
      total += new Set(received).size;
    }
    expect(total).toBe(100);
    // 100 claims and 40 alarm runs: about 5 s on a busy 2-core machine.
  }, 30_000);

  it("an origin that hangs: the attempt times out and is retried", async () => {
    const wallet = uniqueAccount();
    await scriptOrigin(String(wallet), ["hang"]);
    const id = await send(wallet, wallet);
    await drain("cybavo", String(wallet));
    expect((await originEvents(String(wallet))).map((e) => e.id)).toEqual([id]);
    const detail = await (await admin("GET", `/sources/cybavo/accounts/${wallet}/events/${id}`)).json<{
      attempts: { error: string | null }[];
    }>();
    expect(detail.attempts[0]?.error).toBe("timeout after 1000 ms");
    expect(detail.attempts).toHaveLength(2);
  });

  it("410 → dead letter at once; listed across accounts; redelivered on request → delivered", async () => {
    const wallet = uniqueAccount();
    await scriptOrigin(String(wallet), [410]);
    const dead = await send(wallet, wallet * 10 + 1);
    const next = await send(wallet, wallet * 10 + 2);
    await drain("cybavo", String(wallet));
    // The dead letter does not block the account: the next event went through.
    expect((await originEvents(String(wallet))).map((e) => e.id)).toEqual([next]);
    expect((await storedEvents("cybavo", String(wallet))).map((r) => r.state)).toEqual(["dead", "delivered"]);

    const list = await (await admin("GET", "/dead-letters?source=cybavo")).json<{
      entries: { id: string; account: string; reason: string }[];
    }>();
    expect(list.entries).toContainEqual(expect.objectContaining({ id: dead, account: String(wallet), reason: "HTTP 410" }));

    const redeliver = await admin("POST", `/sources/cybavo/accounts/${wallet}/events/${dead}/redeliver`);
    expect(redeliver.status).toBe(202);
    await drain("cybavo", String(wallet));
    expect((await originEvents(String(wallet))).map((e) => e.id)).toEqual([next, dead]);
    const after = await (await admin("GET", "/dead-letters?source=cybavo")).json<{ entries: { id: string }[] }>();
    expect(after.entries.map((e) => e.id)).not.toContain(dead);
  });

  it("a Durable Object aborted between claim and delivery still delivers the event", async () => {
    const wallet = uniqueAccount();
    // Enough failures that the event is surely still pending when the object is aborted (the
    // runtime's own alarm may have made one attempt besides the forced one).
    await scriptOrigin(String(wallet), [503, 503, 503]);
    const id = await send(wallet, wallet);
    await runDurableObjectAlarm(ledger("cybavo", String(wallet)));
    // Only this account's object is reset (state.abort()): aborting every object in the
    // runtime would also cut off the objects other test files are using at the same moment.
    const before = await runInDurableObject(ledger("cybavo", String(wallet)), (instance) => instance);
    await expect(
      runInDurableObject(ledger("cybavo", String(wallet)), (_instance, state) => state.abort("test: reset between claim and delivery")),
    ).rejects.toThrow();
    expect(await runInDurableObject(ledger("cybavo", String(wallet)), (instance) => instance === before)).toBe(false);
    expect((await storedEvents("cybavo", String(wallet))).map((r) => r.state)).toEqual(["pending"]);
    await drain("cybavo", String(wallet));
    expect((await originEvents(String(wallet))).map((e) => e.id)).toEqual([id]);
  });

  it("replays an account's delivered events since a time, in order, with their ids", async () => {
    const wallet = uniqueAccount();
    const ids = [await send(wallet, wallet * 10 + 1), await send(wallet, wallet * 10 + 2)];
    await drain("cybavo", String(wallet));
    const replay = await admin("POST", `/sources/cybavo/accounts/${wallet}/replay?since=${new Date(Date.now() - 60_000).toISOString()}`);
    expect(await replay.json()).toEqual({ status: "queued", events: 2 });
    await drain("cybavo", String(wallet));
    expect((await originEvents(String(wallet))).map((e) => e.id)).toEqual([...ids, ...ids]);
  });

  it("drops bodies after the delivered retention and keys after the key retention; numbering goes on after them", async () => {
    const wallet = uniqueAccount();
    const first = await send(wallet, wallet);
    const newest = await send(wallet, wallet + 1);
    await drain("cybavo", String(wallet));
    const stub = ledger("cybavo", String(wallet));
    const { runInDurableObject, runDurableObjectAlarm } = await import("cloudflare:test");
    const day = 86_400_000;
    // The rows are aged, not the clock: the ledger's in-memory prune schedule (hourly) is moved with them.
    const age = (by: number, what?: "received") =>
      runInDurableObject(stub, (instance, state) => {
        ageRows(instance, state.storage.sql, by, what);
        (instance as unknown as { nextPruneAt: number }).nextPruneAt = 0;
      });
    await age(8 * day);
    await runDurableObjectAlarm(stub);
    expect((await stub.events()).map((e) => [e.id, e.state, e.body])).toEqual([
      [first, "delivered", null],
      [newest, "delivered", null],
    ]);
    // Past RETENTION_KEYS_SECONDS (default 400 days) after the keys partition's end (it takes
    // keys for 32 days): it goes whole; the account's last number was kept when its bodies
    // partition went, so numbering goes on.
    await age(432 * day, "received");
    await runDurableObjectAlarm(stub);
    expect((await stub.events()).map((e) => e.id)).toEqual([]);
    const after = await send(wallet, wallet + 2);
    await drain("cybavo", String(wallet));
    expect((await stub.events()).map((e) => [e.id, e.seq])).toEqual([[after, 3]]);
  });
});
