/**
 * Time partitions (src/ledger/partitions.ts) carry the promise for every new event: its claim
 * is one key in one of many keys partitions, its body one row in one of many bodies partitions,
 * and retention drops tables whole. So the properties below cross partition boundaries on
 * purpose: rows are aged (the clock cannot move in workerd), which ends the current partitions,
 * so the next claim opens new ones, and prunes drop whatever retention allows.
 *
 * Invariant checked: while no key has outlived RETENTION_KEYS_SECONDS, an id is stored once
 * (every repeat is a duplicate, whichever partition holds the first), numbered above every
 * earlier event, and delivered exactly once, in `seq` order; a partition still holding a pending
 * event is never dropped.
 */
import { runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AccountLedger } from "../src/ledger/AccountLedger";
import { runAlarmNow } from "./support/alarms";
import { drain, originEvents, scriptOrigin, uniqueAccount } from "./support/gateway";
import { acceptInput, ledger, makeDue } from "./support/ledger-faults";
import { ageRows, allRows, bodiesTables, keysTables } from "./support/ledger-sql";

const SOURCE = "cybavo";
const DAY = 86_400_000;

/** Ages the object's rows and partitions by `days` and makes its hourly prune due (the next run prunes). */
function age(stub: DurableObjectStub<AccountLedger>, days: number): Promise<void> {
  return runInDurableObject(stub, (instance, state) => {
    ageRows(instance, state.storage.sql, days * DAY);
    (instance as unknown as { nextPruneAt: number }).nextPruneAt = 0;
  });
}

const sequenceOf = (e: { json: unknown }) => Number((e.json as { sequence: string }).sequence);

describe("time partitions", () => {
  it("property: across partitions opened and dropped, each id is stored once, numbered in order and delivered exactly once, in order", async () => {
    type Op = { kind: "claim"; key: number } | { kind: "run" } | { kind: "age"; days: number } | { kind: "restart" };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 5, arbitrary: fc.nat({ max: 4 }).map<Op>((key) => ({ kind: "claim", key })) },
      { weight: 2, arbitrary: fc.constant<Op>({ kind: "run" }) },
      // Up to 12 steps of at most 33 days: under 400 days, so no key may be forgotten.
      // 33 days ends the keys partition (32 days of keys): the next claim opens another.
      { weight: 3, arbitrary: fc.constantFrom(1, 9, 33, 33).map<Op>((days) => ({ kind: "age", days })) },
      { weight: 1, arbitrary: fc.constant<Op>({ kind: "restart" }) },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 4, maxLength: 12 }), async (ops) => {
        const account = `part-${uniqueAccount()}`;
        const stub = ledger(SOURCE, account);
        const stored: string[] = [];
        for (const o of ops) {
          if (o.kind === "claim") {
            const input = await acceptInput(SOURCE, account, `k${o.key}`);
            const result = await stub.accept(input);
            expect(result.duplicate, `${input.id} after ${JSON.stringify(ops)}`).toBe(stored.includes(input.id));
            if (!result.duplicate) stored.push(input.id);
          } else if (o.kind === "run") {
            await makeDue(stub);
            await runAlarmNow(stub);
          } else if (o.kind === "age") {
            const before = await runInDurableObject(stub, (_i, state) => allRows(state.storage.sql));
            await age(stub, o.days);
            await runAlarmNow(stub);
            // A pending event's body is never dropped with its partition.
            const after = await runInDurableObject(stub, (_i, state) => allRows(state.storage.sql));
            for (const row of before.filter((r) => r.state === "pending")) {
              const now = after.find((r) => r.id === row.id);
              expect(now === undefined || now.state !== "pending" || now.hasBody === 1, `${row.id} lost its body`).toBe(true);
            }
          } else {
            await stub.events({ limit: 1 });
            await runInDurableObject(stub, (instance) => {
              // A fresh isolate's view: the catalog and numbers are read again from storage.
              (instance as unknown as { partitions: { forget(): void } }).partitions.forget();
            });
          }
        }
        await scriptOrigin(account, []);
        await drain(SOURCE, account);
        const received = await originEvents(account);
        // Exactly once each, in claim order, numbered upwards.
        expect(received.map((e) => e.id)).toEqual(stored);
        const sequences = received.map(sequenceOf);
        expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
        expect(new Set(sequences).size).toBe(sequences.length);
      }),
      { numRuns: 30 },
    );
  }, 180_000);

  it("a claim whose body SQLite refuses leaves nothing behind: the provider's retry is stored and delivered", async () => {
    const account = `part-rollback-${uniqueAccount()}`;
    const stub = ledger(SOURCE, account);
    const input = await acceptInput(SOURCE, account, "big");
    // SQLite refuses the body after the key insert succeeded (here a NOT NULL constraint; in
    // production a full disk or an oversize row would do the same).
    const refused = { ...input, body: null as unknown as string };
    const failure = await stub.accept(refused).then(
      () => "stored",
      (err: unknown) => String(err),
    );
    expect(failure).toMatch(/NOT NULL/);
    // The transaction took the key, the identity and the new partitions with it.
    const left = await runInDurableObject(stub, (_i, state) => ({
      rows: allRows(state.storage.sql).length,
      keys: keysTables(state.storage.sql).length,
      bodies: bodiesTables(state.storage.sql).length,
      identity: state.storage.sql.exec("SELECT COUNT(*) AS n FROM _meta WHERE key IN ('source', 'account', 'role')").one().n,
    }));
    expect(left).toEqual({ rows: 0, keys: 0, bodies: 0, identity: 0 });
    // The provider retries (the gateway answered 503): the same id is new, stored and delivered.
    expect(await stub.accept(input)).toMatchObject({ stored: true, duplicate: false });
    expect(await stub.accept(input)).toMatchObject({ stored: true, duplicate: true });
    await drain(SOURCE, account);
    expect((await originEvents(account)).map((e) => [e.id, sequenceOf(e)])).toEqual([[input.id, 1]]);
  });

  it("an account's partitions: a pair per span, each dropped only after its retention and once nothing in it is pending", async () => {
    const account = `part-drop-${uniqueAccount()}`;
    const stub = ledger(SOURCE, account);
    const tables = () =>
      runInDurableObject(stub, (_i, state) => [keysTables(state.storage.sql).length, bodiesTables(state.storage.sql).length]);
    await stub.accept(await acceptInput(SOURCE, account, "a"));
    expect(await tables()).toEqual([1, 1]);
    // A day later the bodies partition has ended: the next claim opens another in the same keys partition.
    await age(stub, 1);
    await scriptOrigin(account, [503]);
    await runAlarmNow(stub);
    await stub.accept(await acceptInput(SOURCE, account, "b"));
    expect(await tables()).toEqual([1, 2]);
    // Past the body retention, but "a" is still pending (the origin failed): nothing is dropped.
    await age(stub, 8);
    await scriptOrigin(account, [503]);
    await runAlarmNow(stub);
    expect(await tables()).toEqual([1, 2]);
    // Delivered now; a week later both bodies partitions go, the keys partition stays (400 days).
    await scriptOrigin(account, []);
    await drain(SOURCE, account);
    await age(stub, 8);
    await runAlarmNow(stub);
    expect(await tables()).toEqual([1, 0]);
    const kept = await stub.events();
    expect(kept.map((e) => [e.state, e.body])).toEqual([
      ["delivered", null],
      ["delivered", null],
    ]);
    // Still duplicates: the keys stay for RETENTION_KEYS_SECONDS.
    expect((await stub.accept(await acceptInput(SOURCE, account, "a"))).duplicate).toBe(true);
    await age(stub, 433);
    await runAlarmNow(stub);
    expect(await tables()).toEqual([0, 0]);
    expect(await stub.events()).toEqual([]);
  });
});
