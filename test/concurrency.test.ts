/**
 * Concurrent callbacks through the real Worker, delivered by the runtime's own alarms (no
 * forced runs): one event per signed content however many copies race, and an account's
 * events delivered in arrival order. Arrival order is the order the account's Durable Object
 * stored them in, which is the CloudEvents `sequence` each event carries.
 */
import { describe, expect, it } from "vitest";
import { eventId } from "../src/ingress";
import { cybavoCallback, originAttempts, originEvents, postCybavo, storedEvents, uniqueAccount } from "./support/gateway";
import { eventually, expectScheduled, ledger } from "./support/ledger-faults";

const SOURCE = "cybavo";
const sequenceOf = (json: unknown) => (json as { sequence: string }).sequence;

describe("concurrency", () => {
  it("200 concurrent identical deliveries → all acked, exactly one event at the origin", async () => {
    const wallet = uniqueAccount();
    const callback = cybavoCallback({ wallet_id: wallet });
    const responses = await Promise.all(Array.from({ length: 200 }, () => postCybavo(SOURCE, callback)));
    expect(responses.map((r) => r.status)).toEqual(Array.from({ length: 200 }, () => 200));
    expect(new Set(await Promise.all(responses.map((r) => r.text())))).toEqual(new Set(["OK"]));
    const id = await eventId(SOURCE, String(wallet), String(callback.serial));
    await eventually(async () => expect((await originEvents(String(wallet))).map((e) => e.id)).toEqual([id]));
    // And no second delivery follows: one row, delivered, one attempt at the origin.
    await expectScheduled(ledger(SOURCE, String(wallet)));
    const rows = await storedEvents(SOURCE, String(wallet));
    expect(rows.map((r) => [r.id, r.state, r.seq])).toEqual([[id, "delivered", 1]]);
    expect((await originAttempts(String(wallet))).map((a) => a.id)).toEqual([id]);
    expect(sequenceOf((await originEvents(String(wallet)))[0]!.json)).toBe("0000000000000000001");
  });

  it("200 concurrent distinct events of one account (each sent twice) → all delivered once, in arrival order, sequence 1..200", async () => {
    const wallet = uniqueAccount();
    const callbacks = Array.from({ length: 200 }, (_, i) => cybavoCallback({ wallet_id: wallet, serial: wallet * 1000 + i }));
    // Every callback twice, all 400 requests at once: a duplicate claim must take no sequence number.
    const responses = await Promise.all([...callbacks, ...callbacks].map((callback) => postCybavo(SOURCE, callback)));
    expect(responses.filter((r) => r.status !== 200)).toEqual([]);
    const ids = await Promise.all(callbacks.map((c) => eventId(SOURCE, String(wallet), String(c.serial))));

    await eventually(async () => expect(await originEvents(String(wallet))).toHaveLength(200), 30_000, 50);
    const received = await originEvents(String(wallet));
    // Exactly the 200 events, each once.
    expect(new Set(received.map((e) => e.id))).toEqual(new Set(ids));
    // In arrival order: the order the ledger stored them (seq), carried as `sequence`, 1..200.
    const stored = await storedEvents(SOURCE, String(wallet));
    expect(stored.map((r) => r.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(received.map((e) => e.id)).toEqual(stored.map((r) => r.id));
    expect(received.map((e) => sequenceOf(e.json))).toEqual(stored.map((r) => String(r.seq).padStart(19, "0")));
    expect(stored.every((r) => r.state === "delivered")).toBe(true);
    expect(await originAttempts(String(wallet))).toHaveLength(200);
  }, 60_000);
});
