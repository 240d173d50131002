/**
 * The outbox never strands an event: the alarm is never later than the outbox head's due time,
 * whatever interleaves with a delivery run, and D1 (the operators' index) never gates delivery.
 * Inside workerd with real SQLite Durable Objects, real D1 and the real origin on loopback.
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AccountLedger } from "../src/ledger/AccountLedger";
import { runAlarmNow } from "./support/alarms";
import { admin, drain, originAttempts, originEvents, scriptOrigin, uniqueAccount } from "./support/gateway";
import { backOffPassed, indexedRows } from "./support/index-db";
import { acceptInput, eventually, expectScheduled, failD1In, hookedEnv, ledger, ledgerState, makeDue } from "./support/ledger-faults";
import { ageRows, allRows } from "./support/ledger-sql";

const SOURCE = "cybavo";

/**
 * Runs one alarm of a fresh account whose outbox holds a dead letter to be (410) and an event
 * to deliver, with every awaited call of the run (origin, D1 index, counters flush) behind a
 * hook; at the `inject`-th such call, a new event is accepted. Returns the await points seen.
 */
async function alarmWithAcceptAt(inject: number): Promise<{
  points: string[];
  account: string;
  lateId: string;
  after: { alarm: number | null; readAt: number; head?: { id: string; due: number } };
}> {
  const account = `outbox-${uniqueAccount()}`;
  const stub = ledger(SOURCE, account);
  await scriptOrigin(account, [410]);
  const late = await acceptInput(SOURCE, account, "late");
  const points: string[] = [];
  const dead = await acceptInput(SOURCE, account, "dead");
  const delivered = await acceptInput(SOURCE, account, "delivered");
  const after = await runInDurableObject(stub, async (instance: AccountLedger, state) => {
    // This run is the one under test: the runtime's own alarm must not start it. The claims and
    // the deletion share one storage commit (no I/O between them), so the alarm the first claim
    // sets never reaches the runtime, which would otherwise fire it and find it gone.
    await instance.accept(dead);
    await instance.accept(delivered);
    await state.storage.deleteAlarm();
    const hook = async (point: string) => {
      points.push(point);
      if (points.length === inject) await instance.accept(late);
    };
    const holder = instance as unknown as { env: Env };
    const realEnv = holder.env;
    const realFetch = globalThis.fetch;
    holder.env = hookedEnv(realEnv, hook);
    globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
      if (new URL(input instanceof Request ? input.url : String(input)).pathname === "/events") await hook("origin");
      return realFetch(input, init);
    };
    try {
      await instance.alarm();
    } finally {
      holder.env = realEnv;
      globalThis.fetch = realFetch;
    }
    // Read as the run left it, before any alarm the runtime may have queued meanwhile runs.
    const pending = allRows(state.storage.sql).find((r) => r.state === "pending");
    const head = pending && { id: pending.id, due: pending.next_attempt_at ?? 0 };
    return { alarm: await state.storage.getAlarm(), readAt: Date.now(), ...(head && { head }) };
  });
  return { points, account, lateId: late.id, after };
}

describe("an event accepted during any await of a delivery run", () => {
  it("is never left behind a later wake-up, and is delivered by the runtime's own alarm", async () => {
    // A dry run lists the run's await points: both origin calls, the index batch (the dead
    // letter and the delivered event), the counters flush (the overview's series to D1, then
    // the stats object).
    const dry = await alarmWithAcceptAt(0);
    expect(dry.points).toEqual(["origin", "origin", "INDEX_DB.batch", "INDEX_DB.batch", "LEDGER.addCounters"]);

    for (let inject = 1; inject <= dry.points.length; inject++) {
      const { account, lateId, after } = await alarmWithAcceptAt(inject);
      const context = `accept at await ${inject} (${dry.points[inject - 1]})`;
      // Accepted at any await, it is either sent by the run itself (accepted during an origin
      // call: the run's grant covered the two events pending when it took, so it takes again for
      // the late one) or the head when the run ends, with the alarm the run leaves due by then
      // (the bug: the run overwrote it with the 7-day prune time).
      if (after.head !== undefined) {
        expect(after.head.id, context).toBe(lateId);
        expect(after.alarm, context).not.toBeNull();
        // workerd stores an alarm set in the past as "now": due at once either way.
        expect(after.alarm!, context).toBeLessThanOrEqual(Math.max(after.head.due, after.readAt));
      } else expect((await originEvents(account)).map((e) => e.id)).toContain(lateId);
      // Delivered without any forced alarm: the runtime fires the one the ledger set.
      await eventually(async () => {
        expect((await originEvents(account)).map((e) => e.id)).toContain(lateId);
      }, 10_000);
      const received = await originEvents(account);
      expect(received.map((e) => e.json.data.payload)).toEqual([{ key: "delivered" }, { key: "late" }]);
    }
  });

  it("stress: 10 accounts × 30 events in concurrent bursts while the runtime's alarms deliver (some dead letters): all delivered, in order", async () => {
    const accounts = Array.from({ length: 10 }, () => `stress-${uniqueAccount()}`);
    // Every third account's first event is refused (410): a dead letter, so its runs also
    // write a dead letter to the index, one more await where a new event can arrive.
    for (const [i, account] of accounts.entries()) if (i % 3 === 0) await scriptOrigin(account, [410]);
    const sent = new Map<string, string[]>(accounts.map((a) => [a, []]));
    for (let burst = 0; burst < 6; burst++) {
      await Promise.all(
        accounts.flatMap((account) =>
          Array.from({ length: 5 }, async (_, i) => {
            const input = await acceptInput(SOURCE, account, `b${burst}-${i}`);
            const claim = await ledger(SOURCE, account).accept(input);
            expect(claim.stored).toBe(true);
          }),
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.floor(Math.random() * 20)));
    }
    for (const account of accounts)
      sent.set(
        account,
        (await ledger(SOURCE, account).events(1000)).map((r) => r.id),
      );
    await eventually(
      async () => {
        for (const [i, account] of accounts.entries()) {
          const expected = sent.get(account)!.slice(i % 3 === 0 ? 1 : 0);
          expect((await originEvents(account)).map((e) => e.id)).toEqual(expected);
        }
      },
      30_000,
      100,
    );
    for (const account of accounts) await expectScheduled(ledger(SOURCE, account), account);
  }, 60_000);
});

/** The account's dead letters as the operators' index lists them. */
const indexedDead = async (account: string) => (await indexedRows(SOURCE, account)).filter((r) => r.status === "dead").map((r) => r.id);

describe("D1 is an index, never a gate", () => {
  it("redeliver while D1 fails: the event is delivered anyway and the index catches up", async () => {
    const account = `redeliver-${uniqueAccount()}`;
    const stub = ledger(SOURCE, account);
    await scriptOrigin(account, [410]);
    const first = await acceptInput(SOURCE, account, "first");
    await stub.accept(first);
    await drain(SOURCE, account);
    expect((await stub.events()).map((r) => r.state)).toEqual(["dead"]);
    expect(await indexedDead(account)).toEqual([first.id]);

    const restore = await failD1In(stub);
    // The bug (with the KV index before): redeliver awaited the index write before setting the
    // alarm; an error left the event pending with no alarm, and nothing ever armed one again.
    expect(await stub.redeliver(first.id)).toBe("queued");
    // Pending with its alarm due, or already delivered by it.
    const state = await expectScheduled(stub, "after redeliver");
    if (state.head !== undefined) expect(state.head.id).toBe(first.id);
    // Delivered by the runtime's alarm while D1 still fails.
    await eventually(async () => expect((await originEvents(account)).map((e) => e.id)).toEqual([first.id]));
    // The stale dead-letter row waits for D1, with a retry wake-up set.
    expect(await indexedDead(account)).toEqual([first.id]);
    await eventually(async () => {
      const s = await ledgerState(stub);
      expect(s.indexWork).toBe(1);
      expect(s.alarm).not.toBeNull();
    });
    await restore();
    await backOffPassed(stub);
    await runDurableObjectAlarm(stub);
    expect(await indexedDead(account)).toEqual([]);
    expect((await indexedRows(SOURCE, account)).map((r) => r.status)).toEqual(["delivered"]);
    expect((await ledgerState(stub)).indexWork).toBe(0);
  });

  it("a dead letter whose D1 write fails sets its own retry wake-up, not the 7-day prune", async () => {
    const account = `index-retry-${uniqueAccount()}`;
    const stub = ledger(SOURCE, account);
    await scriptOrigin(account, [410]);
    const restore = await failD1In(stub);
    const dead = await acceptInput(SOURCE, account, "dead");
    await stub.accept(dead);
    await drain(SOURCE, account);
    const state = await ledgerState(stub);
    expect(state.indexWork).toBe(1);
    expect(state.alarm).not.toBeNull();
    expect(state.alarm!).toBeLessThanOrEqual(Date.now() + 5 * 60_000);
    await restore();
    await backOffPassed(stub);
    await runDurableObjectAlarm(stub);
    expect(await indexedRows(SOURCE, account)).toEqual([
      expect.objectContaining({ id: dead.id, account, status: "dead", reason: "HTTP 410", received_at: dead.receivedAt }),
    ]);
    expect((await ledgerState(stub)).indexWork).toBe(0);
  });

  it("property: any interleaving of claims, duplicates, runs, origin failures, redeliveries and D1 outages keeps the alarm at or before the head; at the end all is delivered and the index matches", async () => {
    type Op =
      | { kind: "accept" }
      | { kind: "duplicate"; of: number }
      | { kind: "run"; due: boolean }
      | { kind: "origin"; reply: 503 | 410 | "retry-after-0" }
      | { kind: "redeliver"; of: number }
      | { kind: "d1"; up: boolean };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 4, arbitrary: fc.constant<Op>({ kind: "accept" }) },
      { weight: 1, arbitrary: fc.nat({ max: 9 }).map<Op>((of) => ({ kind: "duplicate", of })) },
      { weight: 4, arbitrary: fc.boolean().map<Op>((due) => ({ kind: "run", due })) },
      {
        weight: 2,
        arbitrary: fc.constantFrom<503 | 410 | "retry-after-0">(503, 410, "retry-after-0").map<Op>((reply) => ({ kind: "origin", reply })),
      },
      { weight: 1, arbitrary: fc.nat({ max: 9 }).map<Op>((of) => ({ kind: "redeliver", of })) },
      { weight: 1, arbitrary: fc.boolean().map<Op>((up) => ({ kind: "d1", up })) },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 3, maxLength: 12 }), async (ops) => {
        const account = `prop-${uniqueAccount()}`;
        const stub = ledger(SOURCE, account);
        const ids: string[] = [];
        let restoreD1: (() => Promise<void>) | undefined;
        for (const [step, o] of ops.entries()) {
          if (o.kind === "accept") {
            const input = await acceptInput(SOURCE, account, `k${ids.length}`);
            expect((await stub.accept(input)).duplicate).toBe(false);
            ids.push(input.id);
          } else if (o.kind === "duplicate" && ids.length > 0) {
            const claim = await stub.accept(await acceptInput(SOURCE, account, `k${o.of % ids.length}`));
            expect(claim.duplicate).toBe(true);
          } else if (o.kind === "run") {
            if (o.due) await makeDue(stub);
            await runAlarmNow(stub);
          } else if (o.kind === "origin") {
            await scriptOrigin(account, [o.reply === "retry-after-0" ? { status: 503, retryAfter: "0" } : o.reply]);
          } else if (o.kind === "redeliver" && ids.length > 0) {
            await stub.redeliver(ids[o.of % ids.length]!);
          } else if (o.kind === "d1") {
            if (!o.up && restoreD1 === undefined) restoreD1 = await failD1In(stub);
            if (o.up && restoreD1 !== undefined) {
              await restoreD1();
              restoreD1 = undefined;
            }
          }
          await expectScheduled(stub, `step ${step} ${JSON.stringify(o)} of ${JSON.stringify(ops)}`);
        }
        if (restoreD1 !== undefined) await restoreD1();
        await scriptOrigin(account, []);
        await drain(SOURCE, account);
        await backOffPassed(stub); // its wait stands for time passing
        await runDurableObjectAlarm(stub); // the index sync, now that D1 answers
        const rows = await stub.events(1000);
        expect(rows.filter((r) => r.state === "pending")).toEqual([]);
        expect((await ledgerState(stub)).indexWork).toBe(0);
        const dead = rows.filter((r) => r.state === "dead").map((r) => r.id);
        expect((await indexedDead(account)).sort()).toEqual([...dead].sort());
        // Sequence numbers: one per accepted event, 1..n, duplicates took none.
        expect(rows.map((r) => r.seq)).toEqual(ids.map((_, i) => i + 1));
        // Every delivered event reached the origin; the origin saw nothing else.
        const seen = new Set((await originEvents(account)).map((e) => e.id));
        for (const row of rows) if (row.state === "delivered") expect(seen.has(row.id), row.id).toBe(true);
        for (const id of seen) expect(ids).toContain(id);
      }),
      { numRuns: 12 },
    );
  }, 120_000);
});

describe("Retry-After cannot burn the schedule", () => {
  it("Retry-After: 0 twenty times: the head is never dead-lettered, waits ≥ 1 s, 5 attempts a minute at most, and the account's order holds", async () => {
    const account = `retry-after-${uniqueAccount()}`;
    const stub = ledger(SOURCE, account);
    await scriptOrigin(
      account,
      Array.from({ length: 20 }, () => ({ status: 503, retryAfter: "0" })),
    );
    const head = await acceptInput(SOURCE, account, "head");
    const next = await acceptInput(SOURCE, account, "next");
    await stub.accept(head);
    await stub.accept(next);
    // Each retry is fast-forwarded (the runtime may make one more on its own alarm): after
    // every run, the head is still pending and its next attempt is scheduled at least 1 s after
    // its last, and at least a minute after the attempt five back.
    for (let made = 0; made < 20; ) {
      await makeDue(stub);
      await runDurableObjectAlarm(stub);
      await expectScheduled(stub, `after ${made} attempts`);
      const detail = (await stub.event(head.id))!;
      made = detail.event.attempts;
      expect(detail.event.state, `after attempt ${made}`).toBe("pending");
      const at = detail.attempts.map((a) => a.at);
      expect(detail.event.next_attempt_at! - at[made - 1]!).toBeGreaterThanOrEqual(1000);
      if (made >= 5) expect(detail.event.next_attempt_at! - at[made - 5]!).toBeGreaterThanOrEqual(60_000);
    }
    await drain(SOURCE, account);
    expect((await originEvents(account)).map((e) => e.id)).toEqual([head.id, next.id]);
    expect((await originAttempts(account)).filter((a) => a.id === head.id)).toHaveLength(21);
  });
});

describe("sequence numbers", () => {
  it("every event carries its account's sequence; a duplicate claim takes no number; a dead letter is a gap, redelivered later with its own number", async () => {
    const account = `seq-${uniqueAccount()}`;
    const stub = ledger(SOURCE, account);
    await scriptOrigin(account, [200, 410]);
    const a = await acceptInput(SOURCE, account, "a");
    const b = await acceptInput(SOURCE, account, "b");
    const c = await acceptInput(SOURCE, account, "c");
    await stub.accept(a);
    expect((await stub.accept(a)).duplicate).toBe(true);
    expect((await stub.accept(a)).duplicate).toBe(true);
    await stub.accept(b);
    await stub.accept(c);
    await drain(SOURCE, account);
    const seqOf = async () => (await originEvents(account)).map((e) => [e.id, (e.json as unknown as { sequence: string }).sequence]);
    expect(await seqOf()).toEqual([
      [a.id, "0000000000000000001"],
      [c.id, "0000000000000000003"],
    ]);
    await stub.redeliver(b.id);
    await drain(SOURCE, account);
    expect((await seqOf()).at(-1)).toEqual([b.id, "0000000000000000002"]);
    // The admin API shows the event as sent.
    const detail = await (await admin("GET", `/sources/${SOURCE}/accounts/${account}/events/${b.id}`)).json<{
      event: { sequence: string };
    }>();
    expect(detail.event.sequence).toBe("0000000000000000002");
  });

  it("is never reused after retention deletes rows", async () => {
    const account = `seq-retention-${uniqueAccount()}`;
    const stub = ledger(SOURCE, account);
    await stub.accept(await acceptInput(SOURCE, account, "old-1"));
    await stub.accept(await acceptInput(SOURCE, account, "old-2"));
    await drain(SOURCE, account);
    await runInDurableObject(stub, (instance, state) => {
      ageRows(instance, state.storage.sql, 1000 * 86_400_000);
      // The rows are aged, not the clock: the ledger's in-memory prune schedule is moved with them.
      (instance as unknown as { nextPruneAt: number }).nextPruneAt = 0;
    });
    await runDurableObjectAlarm(stub);
    // Both partitions were dropped whole; their last number was kept first (src/ledger/partitions.ts).
    expect((await stub.events()).map((r) => r.seq)).toEqual([]);
    const fresh = await acceptInput(SOURCE, account, "new");
    await stub.accept(fresh);
    await drain(SOURCE, account);
    expect((await stub.events()).map((r) => [r.id, r.seq])).toEqual([[fresh.id, 3]]);
    expect((await originEvents(account)).map((e) => (e.json as unknown as { sequence: string }).sequence)).toEqual([
      "0000000000000000001",
      "0000000000000000002",
      "0000000000000000003",
    ]);
  });
});

describe("a lost alarm", () => {
  it("is set again by the next claim of a fresh isolate into the non-empty outbox; both events are delivered, in order", async () => {
    const account = `lost-alarm-${uniqueAccount()}`;
    const stub = ledger(SOURCE, account);
    // The origin refuses the first attempt (the event waits for its retry), then the alarm is lost.
    await scriptOrigin(account, [503]);
    const first = await acceptInput(SOURCE, account, "first");
    await stub.accept(first);
    await eventually(async () => expect((await stub.event(first.id))?.event.attempts).toBe(1));
    await runInDurableObject(stub, async (_instance, state) => {
      await state.storage.deleteAlarm();
    });
    await evictDurableObject(stub);
    const second = await acceptInput(SOURCE, account, "second");
    await stub.accept(second);
    expect((await expectScheduled(stub, "after the second claim")).alarm).not.toBeNull();
    await drain(SOURCE, account);
    expect((await originEvents(account)).map((e) => e.id)).toEqual([first.id, second.id]);
  });
});
