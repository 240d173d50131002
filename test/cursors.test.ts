/**
 * The ledger's cursors (src/ledger/cursors.ts) replace indexes every event paid for, so their
 * invariants carry the promise: the outbox never skips a pending event, retention never keeps
 * an expired body or key behind its cursor, and `seq` is never reused. Checked as a property
 * over random interleavings of claims, delivery runs, origin failures, redeliveries, replays,
 * restarts (a fresh isolate reads the cursors back from storage) and prunes over aged rows, in
 * real SQLite-backed objects with the real origin on loopback.
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AccountLedger } from "../src/ledger/AccountLedger";
import { runAlarmNow } from "./support/alarms";
import { drain, originEvents, scriptOrigin, uniqueAccount } from "./support/gateway";
import { acceptInput, expectScheduled, ledger, makeDue } from "./support/ledger-faults";
import { type AnyRow, ageRows, allRows, bodiesTables } from "./support/ledger-sql";

const SOURCE = "cybavo";
const DAY = 86_400_000;

interface Snapshot {
  cursors: Record<string, number>;
  rows: AnyRow[];
  /** Each bodies partition's `seq`s, oldest partition first. */
  partitionSeqs: number[][];
  /** Body rows whose key is not in their keys partition. */
  orphanBodies: number;
}

/** The stored cursors and the in-memory ones, with every row. */
function snapshot(stub: DurableObjectStub<AccountLedger>): Promise<Snapshot> {
  return runInDurableObject(stub, (instance, state) => {
    const sql = state.storage.sql;
    const stored = Object.fromEntries(
      sql
        .exec<{ key: string; value: string }>("SELECT key, value FROM _meta WHERE key IN ('outbox_after', 'bodies_after', 'keys_after')")
        .toArray()
        .map((r) => [r.key, Number(r.value)]),
    );
    const memory = (instance as unknown as { cursors: { value: Map<string, number> } }).cursors.value;
    const cursors: Record<string, number> = {};
    for (const name of ["outbox_after", "bodies_after", "keys_after"]) {
      // The stronger of the two: the in-memory value is at or ahead of the stored one.
      cursors[name] = Math.max(stored[name] ?? 0, memory.get(name) ?? 0);
      cursors[`stored_${name}`] = stored[name] ?? 0;
    }
    const partitionSeqs = bodiesTables(sql).map((b) =>
      sql
        .exec<{ seq: number }>(`SELECT seq FROM ${b.name} ORDER BY seq`)
        .toArray()
        .map((r) => r.seq),
    );
    const orphanBodies = bodiesTables(sql).reduce(
      (n, b) => n + sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${b.name} WHERE id NOT IN (SELECT id FROM ${b.keys})`).one().n,
      0,
    );
    return { cursors, rows: allRows(sql), partitionSeqs, orphanBodies };
  });
}

/**
 * The invariants of src/ledger/cursors.ts, for both the in-memory and the stored cursors, and
 * those of src/ledger/partitions.ts: an id is in one place; a partition row is pending or
 * delivered; partitions hold `seq`s in order; a body's key is in its keys partition.
 */
function expectInvariants({ cursors, rows: all, partitionSeqs, orphanBodies }: Snapshot, context: string): void {
  for (const outbox of [cursors.outbox_after!, cursors.stored_outbox_after!]) {
    const skipped = all.filter((r) => r.seq <= outbox && r.state === "pending" && r.requeued !== 1);
    expect(skipped, `pending behind the outbox cursor ${outbox}: ${context}`).toEqual([]);
  }
  expect(new Set(all.map((r) => r.id)).size, `an id in two places: ${context}`).toBe(all.length);
  expect(new Set(all.map((r) => r.seq)).size, `a seq given twice: ${context}`).toBe(all.length);
  const offPath = all.filter((r) => r.table !== "events" && r.state !== "pending" && r.state !== "delivered");
  expect(offPath, `a partition row neither pending nor delivered: ${context}`).toEqual([]);
  const flat = partitionSeqs.flat();
  expect(flat, `bodies partitions out of seq order: ${context}`).toEqual([...flat].sort((a, b) => a - b));
  expect(orphanBodies, `a body without its key: ${context}`).toBe(0);
  // The retention cursors are positions in `events` (partitions go whole).
  const rows = all.filter((r) => r.table === "events");
  for (const bodies of [cursors.bodies_after!, cursors.stored_bodies_after!]) {
    const kept = rows.filter((r) => r.seq <= bodies && r.hasBody && !["dead", "quarantined", "reprocessed"].includes(r.state));
    expect(kept, `a body behind the bodies cursor ${bodies}: ${context}`).toEqual([]);
  }
  for (const keys of [cursors.keys_after!, cursors.stored_keys_after!]) {
    const kept = rows.filter((r) => r.seq <= keys && !["dead", "quarantined"].includes(r.state));
    expect(kept, `a key behind the keys cursor ${keys}: ${context}`).toEqual([]);
  }
}

describe("cursors", () => {
  it("property: claims, runs, failures, redeliveries, replays, restarts and prunes keep every cursor's invariant; nothing is skipped, lost or renumbered", async () => {
    type Op =
      | { kind: "accept"; n: number }
      | { kind: "run" }
      | { kind: "origin"; reply: 503 | 410 }
      | { kind: "redeliver"; of: number }
      | { kind: "replay" }
      | { kind: "restart" }
      | { kind: "prune"; days: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 1, max: 3 }).map<Op>((n) => ({ kind: "accept", n })) },
      { weight: 4, arbitrary: fc.constant<Op>({ kind: "run" }) },
      { weight: 2, arbitrary: fc.constantFrom<503 | 410>(503, 410).map<Op>((reply) => ({ kind: "origin", reply })) },
      { weight: 1, arbitrary: fc.nat({ max: 20 }).map<Op>((of) => ({ kind: "redeliver", of })) },
      { weight: 1, arbitrary: fc.constant<Op>({ kind: "replay" }) },
      { weight: 1, arbitrary: fc.constant<Op>({ kind: "restart" }) },
      { weight: 2, arbitrary: fc.constantFrom(8, 200, 433).map<Op>((days) => ({ kind: "prune", days })) },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 3, maxLength: 14 }), async (ops) => {
        const account = `cursor-${uniqueAccount()}`;
        const stub = ledger(SOURCE, account);
        const ids: string[] = [];
        const seqs = new Map<string, number>();
        let highest = 0;
        for (const [step, o] of ops.entries()) {
          if (o.kind === "accept") {
            for (let i = 0; i < o.n; i++) {
              const input = await acceptInput(SOURCE, account, `k${ids.length}`);
              expect((await stub.accept(input)).duplicate).toBe(false);
              ids.push(input.id);
            }
          } else if (o.kind === "run") {
            await makeDue(stub);
            await runAlarmNow(stub);
          } else if (o.kind === "origin") {
            await scriptOrigin(account, [o.reply]);
          } else if (o.kind === "redeliver" && ids.length > 0) {
            await stub.redeliver(ids[o.of % ids.length]!);
          } else if (o.kind === "replay") {
            await stub.replay(0);
          } else if (o.kind === "restart") {
            await stub.events({ limit: 1 }); // running, so it can be evicted
            await evictDurableObject(stub);
          } else if (o.kind === "prune") {
            // Age every row (the clock cannot move) and make the hourly prune due; then a run prunes.
            await runInDurableObject(stub, (instance, state) => {
              ageRows(instance, state.storage.sql, o.days * DAY);
              (instance as unknown as { nextPruneAt: number }).nextPruneAt = 0;
            });
            await runAlarmNow(stub);
          }
          const context = `step ${step} ${JSON.stringify(o)} of ${JSON.stringify(ops)}`;
          const snap = await snapshot(stub);
          expectInvariants(snap, context);
          // `seq`: each event keeps its number; a new one is above every number ever given.
          for (const row of snap.rows) {
            const id = (await stub.events({ afterSeq: row.seq - 1, limit: 1 }))[0]!.id;
            const known = seqs.get(id);
            if (known === undefined) {
              expect(row.seq, context).toBeGreaterThan(highest);
              seqs.set(id, row.seq);
              highest = row.seq;
            } else expect(row.seq, context).toBe(known);
          }
          await expectScheduled(stub, context);
        }
        // Whatever happened, the outbox then delivers everything still pending, in order.
        await scriptOrigin(account, []);
        await drain(SOURCE, account);
        const rows = await stub.events(1000);
        expect(rows.filter((r) => r.state === "pending")).toEqual([]);
        const delivered = new Set((await originEvents(account)).map((e) => e.id));
        for (const row of rows) if (row.state === "delivered") expect(delivered.has(row.id), row.id).toBe(true);
        // Every event not dead-lettered reached the origin, pruned or not.
        const dead = new Set(rows.filter((r) => r.state === "dead").map((r) => r.id));
        for (const id of ids) if (!dead.has(id)) expect(delivered.has(id), id).toBe(true);
      }),
      { numRuns: 15 },
    );
  }, 180_000);

  it("a dead letter retention stepped over, redelivered later: its body and then its key are still pruned", async () => {
    const account = `cursor-dead-${uniqueAccount()}`;
    const stub = ledger(SOURCE, account);
    const inputs = await Promise.all(["a", "b", "c"].map((key) => acceptInput(SOURCE, account, key)));
    await scriptOrigin(account, [200, 410, 200]);
    for (const input of inputs) await stub.accept(input);
    await drain(SOURCE, account);
    const age = (days: number) =>
      runInDurableObject(stub, (instance, state) => {
        ageRows(instance, state.storage.sql, days * DAY);
        (instance as unknown as { nextPruneAt: number }).nextPruneAt = 0;
      });
    await age(8);
    await runAlarmNow(stub);
    // The dead letter moved to `events`, and the bodies cursor past it: its body is kept (an
    // operator may redeliver it); the others went with their bodies partition.
    expect((await snapshot(stub)).cursors.stored_bodies_after).toBe(2);
    expect((await stub.events()).map((e) => [e.state, e.body === null])).toEqual([
      ["delivered", true],
      ["dead", false],
      ["delivered", true],
    ]);
    expect(await stub.redeliver(inputs[1]!.id)).toBe("queued");
    await drain(SOURCE, account);
    await age(8);
    await runAlarmNow(stub);
    expect((await stub.events()).map((e) => [e.state, e.body === null])).toEqual([
      ["delivered", true],
      ["delivered", true],
      ["delivered", true],
    ]);
    await age(433);
    await runAlarmNow(stub);
    // Every key expired: the keys partition went whole; in `events` the newest row stays (its
    // number is the highest there).
    expect((await stub.events()).map((e) => e.id)).toEqual([inputs[1]!.id]);
    expectInvariants(await snapshot(stub), "after the last prune");
  });
});

describe("the outbox cursor moves over whatever is not pending", () => {
  it("a quarantine of 300 callbacks: the first look for a head reads them once, the next reads none of them", async () => {
    const stub = ledger("cursor-test", `~quarantine-${uniqueAccount()}`);
    for (let i = 0; i < 300; i++) {
      await stub.quarantine({
        id: `evt_q${i}`,
        source: "cursor-test",
        account: "~quarantine",
        idempotencyKey: `raw:${i}`,
        reason: "unmapped: test",
        raw: new TextEncoder().encode(`{"n":${i}}`),
        receivedAt: Date.now(),
      });
    }
    const reads = await runInDurableObject(stub, (instance) => {
      const gate = (instance as unknown as { gate: { totals(): { rowsRead: number } } }).gate;
      const outbox = (instance as unknown as { outbox: { headDueAt(): unknown } }).outbox;
      const look = () => {
        const before = gate.totals().rowsRead;
        expect(outbox.headDueAt()).toBeUndefined();
        return gate.totals().rowsRead - before;
      };
      return [look(), look(), look()];
    });
    // The first look moves the cursor over the 300 rows (quarantine claims do not look); from
    // then on a look reads a few rows (the probes and MAX(seq)), none of the 300 behind it.
    expect(reads[0]).toBeGreaterThanOrEqual(300);
    expect(reads.slice(1)).toEqual([reads[1], reads[1]]);
    expect(reads[1]).toBeLessThanOrEqual(3);
  });
});

describe("the prune schedule", () => {
  it("a body delivered after a prune that planned the next one months ahead (keys only) is still dropped on time", async () => {
    const account = `cursor-plan-${uniqueAccount()}`;
    const stub = ledger(SOURCE, account);
    for (const key of ["a", "b"]) await stub.accept(await acceptInput(SOURCE, account, key));
    await drain(SOURCE, account);
    const plan = () =>
      runInDurableObject(stub, (instance) => (instance as unknown as { nextPruneAt: number | undefined }).nextPruneAt ?? null);
    // Both bodies expired and dropped: what is left to prune is keys, 400 days out.
    await runInDurableObject(stub, (instance, state) => {
      ageRows(instance, state.storage.sql, 8 * DAY);
      (instance as unknown as { nextPruneAt: number }).nextPruneAt = 0;
    });
    await runAlarmNow(stub);
    expect((await stub.events()).map((e) => e.body)).toEqual([null, null]);
    expect(await plan()).toBeGreaterThan(Date.now() + 300 * DAY);
    // A new event delivered by this isolate: its body expires in 7 days, so must the plan.
    await stub.accept(await acceptInput(SOURCE, account, "c"));
    await drain(SOURCE, account);
    const after = await plan();
    expect(after).not.toBeNull();
    expect(after!).toBeLessThanOrEqual(Date.now() + 7 * DAY + 1000);
    expect(after!).toBeGreaterThan(Date.now() + 7 * DAY - 60_000);
  });
});
