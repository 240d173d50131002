/**
 * Rows written as Cloudflare bills them (docs/benchmarks.md "How SQLite storage is billed"):
 * fixed workloads on real SQLite-backed ledger objects, checked against figures derived by hand
 * from the billing rules and the schema (src/ledger/schema.ts), not read back from SQLite.
 *
 * The rules, from Cloudflare's Durable Objects and D1 pricing pages:
 * - an inserted row is one row written, plus one per index entry it adds;
 * - an updated row is one row written, plus one per index whose columns the update changes;
 * - a deleted row is one row written;
 * - each `setAlarm()` is one row written (the gate sets none when the alarm is already due no
 *   later than wanted: `wakeBy`).
 * What the schema gives, per table (src/ledger/schema.ts, since migration 7):
 * - `_meta`, `nonces`, `attempts`, `counters` are `WITHOUT ROWID`: a row is its primary-key
 *   entry, one row written; `nonces` adds its `nonces_by_expiry` entry;
 * - `events`: `seq` is the rowid (no AUTOINCREMENT, so no `sqlite_sequence` row), one index on
 *   `id` (UNIQUE), and partial indexes an ordinary event never enters: `events_index_work` (a
 *   row whose row in the operators' D1 index is still to be written: `indexed = 0`, since
 *   migration 9), `events_requeued` (a pending row an operator put back), `events_held` (dead
 *   or quarantined).
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { AccountLedger, ClaimResult } from "../src/ledger/AccountLedger";
import type { LedgerStorage } from "../src/ledger/storage";
import { captureLogs, scriptOrigin, uniqueAccount } from "./support/gateway";
import { acceptInput, ledger } from "./support/ledger-faults";
import { ageRows } from "./support/ledger-sql";

const DAY = 86_400_000;
/** A new `_meta` key: its row (`WITHOUT ROWID`: the row is the primary-key entry). */
const META_KEY = 1;
/** What a ledger records about itself on its first write: `source`, `account` and `role`. */
const IDENTITY = 3 * META_KEY;
/**
 * A pending event in its time partitions (src/ledger/partitions.ts): its key (`WITHOUT ROWID`,
 * keyed by id: one entry) and its body (`seq` is the rowid: one entry). Neither has an index.
 */
const PENDING_EVENT = 1 + 1;
/** A pending event in `events` (a quarantined one, or one moved there): row + `id` UNIQUE entry. */
const EVENTS_ROW = 1 + 1;
/** Delivered: the key row, updated in place. */
const DELIVERED = 1;
/** A CREATE TABLE of a partition, twice (measured below: its `sqlite_master` row, and SQLite's schema change). */
const CREATE_PAIR = 2 * 2;
/** Creating a pair of partitions: two tables (as SQLite counts a CREATE TABLE) and two catalog rows. */
const PARTITION_PAIR = CREATE_PAIR + 2 * 1;
/** A partition dropped: 0 rows for what it holds, 1 for its catalog row. */
const DROP = 1;
/** A quarantined event: as a pending one, plus its `events_index_work` and `events_held` entries. */
const QUARANTINED_EVENT = EVENTS_ROW + 1 + 1;
/** A nonce: row (`WITHOUT ROWID`) + `nonces_by_expiry` entry. */
const NONCE = 1 + 1;
/** A retention cursor moved (src/ledger/cursors.ts): one `_meta` row. */
const CURSOR = 1;
const SET_ALARM = 1;
/**
 * A new object's schema, created in one step (src/ledger/schema.ts FRESH_SCHEMA) with its `schema`
 * mark, as SQLite counts each statement: 19 before migration 9, whose `headers` column (an
 * ALTER TABLE of `events`, as `delivered_ms` before it) rewrites the table's `sqlite_master` row: 1 more;
 * migration 10's two columns of `attempts` (`held`, `held_ms`: origin protection), 2 more.
 */
const FRESH_SCHEMA_ROWS = 22;

/** The object's storage gate, read inside the object: rows read and written since it woke. */
const gateOf = (instance: AccountLedger) => (instance as unknown as { gate: LedgerStorage }).gate;

/** Runs `steps` in the object and returns the rows each step wrote, by the gate's count. */
function writtenBySteps(
  stub: DurableObjectStub<AccountLedger>,
  steps: (instance: AccountLedger, state: DurableObjectState, step: (name: string) => void) => Promise<void>,
): Promise<Record<string, number>> {
  return runInDurableObject(stub, async (instance: AccountLedger, state) => {
    const written = () => gateOf(instance).totals().rowsWritten;
    const result: Record<string, number> = {};
    let mark = written();
    await steps(instance, state, (name) => {
      result[name] = written() - mark;
      mark = written();
    });
    return result;
  });
}

const writtenOf = (claim: ClaimResult) => claim.usage?.sql_rows_written;

/** The ledger prunes at most once an hour (src/ledger/retention.ts): this stands for the hour passing. */
const pruneDue = (instance: AccountLedger) => {
  (instance as unknown as { nextPruneAt: number }).nextPruneAt = 0;
};

describe("the storage gate counts rows written as Cloudflare bills them", () => {
  it("accept 3 new events, the same 3 again, deliver them, prune their bodies, then their keys", async () => {
    const account = `gate-${uniqueAccount()}`;
    const stub = ledger("cybavo", account);
    const inputs = await Promise.all(["a", "b", "c"].map((key) => acceptInput("cybavo", account, key)));
    // Woken (and migrated) before the workload: creating the schema is not part of it.
    await stub.events({ limit: 1 });
    const claims: ClaimResult[] = [];
    const steps = await writtenBySteps(stub, async (instance, state, step) => {
      for (const input of inputs) claims.push(await instance.accept(input));
      step("accept new");
      // The runtime's own alarm must not deliver in between: the runs below are the ones measured.
      await state.storage.deleteAlarm();
      for (const input of inputs) claims.push(await instance.accept(input));
      step("accept duplicates");
      await instance.alarm();
      step("deliver");
      // The test's own writes (not through the gate): age the rows past retention, and move the
      // ledger's in-memory prune schedule with them (the clock is not moved).
      ageRows(instance, state.storage.sql, 8 * DAY);
      pruneDue(instance);
      await instance.alarm();
      step("prune bodies");
      ageRows(instance, state.storage.sql, 401 * DAY, "received");
      pruneDue(instance);
      await instance.alarm();
      step("prune keys");
    });
    expect(steps).toEqual({
      // The first claim records the identity, creates the account's first pair of partitions
      // and, the outbox being empty, sets the alarm; the others find the outbox non-empty (its
      // alarm already at or before their due time).
      "accept new": IDENTITY + PARTITION_PAIR + 3 * PENDING_EVENT + SET_ALARM,
      // `INSERT … WHERE NOT EXISTS` inserts nothing for a duplicate: no row, no sequence.
      "accept duplicates": 0,
      // Three rows marked delivered, then the alarm set for the first body to drop (7 days).
      deliver: 3 * DELIVERED + SET_ALARM,
      // The bodies partition dropped whole: its catalog row, and the account's last number
      // kept in `seq_floor` (a cursor); then the alarm set for the keys (400 days).
      "prune bodies": DROP + CURSOR + SET_ALARM,
      // The keys partition dropped whole: its catalog row. Nothing is left to prune, so no alarm.
      "prune keys": DROP,
    });
    // What each claim reports to the counters (src/ingress.ts countClaim). The first also
    // carries what the object did before it (creating its schema), so it is not a fixed figure.
    expect(claims.slice(1).map(writtenOf)).toEqual([PENDING_EVENT, PENDING_EVENT, 0, 0, 0]);
  });

  it("an alarm already due no later than wanted is not set again: three redeliveries write one alarm", async () => {
    const account = `gate-wake-${uniqueAccount()}`;
    const stub = ledger("cybavo", account);
    const inputs = await Promise.all(["a", "b", "c"].map((key) => acceptInput("cybavo", account, key)));
    for (const input of inputs) await stub.accept(input);
    const result = await runInDurableObject(stub, async (instance: AccountLedger, state) => {
      // Delivered by a run of the test's own (the runtime's alarm must not run in between).
      await state.storage.deleteAlarm();
      await instance.alarm();
      const written = () => gateOf(instance).totals().rowsWritten;
      const steps: number[] = [];
      for (const input of inputs) {
        const mark = written();
        expect(await instance.redeliver(input.id)).toBe("queued");
        steps.push(written() - mark);
      }
      return { steps, alarm: await state.storage.getAlarm(), now: Date.now() };
    });
    // The same update each time; only the first sets the alarm (due now), the others find it
    // set at or before their own "now" and leave it: the invariant holds with one row fewer each.
    const update = result.steps[1]!;
    expect(result.steps).toEqual([update + SET_ALARM, update, update]);
    expect(result.alarm).not.toBeNull();
    expect(result.alarm!).toBeLessThanOrEqual(result.now);
  });

  it("a new object creates its schema in one step: 22 rows written", async () => {
    const stub = env.LEDGER.get(env.LEDGER.idFromName(`gate-fresh-${uniqueAccount()}`));
    // The constructor has run `migrate` on empty storage, and nothing else yet.
    const written = await runInDurableObject(stub, (instance: AccountLedger) => gateOf(instance).totals().rowsWritten);
    expect(written).toBe(FRESH_SCHEMA_ROWS);
  });

  it("off the common path: a dead letter and a redelivery move their event out of its partitions into `events`", async () => {
    const account = `gate-move-${uniqueAccount()}`;
    const stub = ledger("cybavo", account);
    const [dead, delivered] = await Promise.all(["dead", "delivered"].map((key) => acceptInput("cybavo", account, key)));
    // The first delivery is refused for good (410: dead-lettered at once), the second delivered.
    await scriptOrigin(account, [410, 200]);
    const steps = await writtenBySteps(stub, async (instance, state, step) => {
      await instance.accept(dead!);
      await instance.accept(delivered!);
      // The runtime's own alarm must not deliver in between: the run below is the one measured.
      await state.storage.deleteAlarm();
      step("accept");
      await instance.alarm();
      step("dead letter, delivery, index");
      await state.storage.deleteAlarm();
      expect(await instance.redeliver(delivered!.id)).toBe("queued");
      step("redeliver a delivered event");
    });
    expect(steps).toEqual({
      accept: IDENTITY + PARTITION_PAIR + 2 * PENDING_EVENT + SET_ALARM,
      // The dead letter: its attempt row (1), its key updated (1), then moved: the `events` row
      // with its `id`, `events_held` and `events_index_work` entries (4), its key and body deleted
      // (2). The next event delivered (1). Both sent to the D1 index, and the dead letter marked (1: the row
      // leaves `events_index_work`). The outbox and index cursors are stored at most every 64 events: not here.
      // The run ends with nothing pending and a prune planned: one alarm.
      "dead letter, delivery, index": 1 + 1 + 4 + 2 + DELIVERED + 1 + SET_ALARM,
      // Its success kept in the history (an `attempts` row: 1); moved to `events`: the row, its
      // `id`, `events_requeued` and `events_index_work` entries (4: since migration 9 every row
      // whose index row is to be written is in `events_index_work`, a pending one too), its key
      // and body deleted (2); then the alarm, due now; then the index sync the operator's action
      // runs marks the row written (1: it leaves `events_index_work`).
      "redeliver a delivered event": 1 + 4 + 2 + SET_ALARM + 1,
    });
    expect((await stub.events()).map((e) => e.state)).toEqual(["dead", "pending"]);
  });

  it("quarantine a callback with a nonce, index it, and refuse its replay", async () => {
    // A source of its own: the index rows this writes are seen by no other test.
    const stub = ledger("gate-test", `~quarantine-${uniqueAccount()}`);
    await stub.events({ limit: 1 });
    const input = (key: string, nonce: string, signed?: Record<string, string>) => ({
      id: `evt_${key}`,
      source: "gate-test",
      account: "~quarantine",
      idempotencyKey: `raw:${key}`,
      reason: "unmapped: test",
      raw: new TextEncoder().encode(`{"key":"${key}"}`),
      receivedAt: Date.now(),
      replay: { nonce, expiresAt: Date.now() + 3_600_000 },
      ...(signed !== undefined && { signed }),
    });
    const claims: ClaimResult[] = [];
    const steps = await writtenBySteps(stub, async (instance, state, step) => {
      claims.push(await instance.quarantine(input("one", "n-1")));
      step("first");
      await state.storage.deleteAlarm();
      // With signed fields kept (Standard Webhooks' webhook-id): a value in a column of the
      // same row, in no index, so the same rows written as without.
      claims.push(await instance.quarantine(input("two", "n-2", { "webhook-id": "msg_two" })));
      step("second");
      await state.storage.deleteAlarm();
      claims.push(await instance.quarantine(input("three", "n-2")));
      step("replayed nonce");
      await instance.alarm();
      step("index");
    });
    expect(steps).toEqual({
      // Nonce, identity, the event, and the alarm that writes its row to the D1 index.
      first: NONCE + IDENTITY + QUARANTINED_EVENT + SET_ALARM,
      // No alarm: the gate set one at the first callback, due at or before now, and an alarm
      // already due no later than wanted is left alone (src/ledger/storage.ts `wakeBy`). (The
      // test deleted it behind the gate only to keep the runtime from running it in between.)
      second: NONCE + QUARANTINED_EVENT,
      // The nonce is refused before anything is written.
      "replayed nonce": 0,
      // Two rows marked indexed: each leaves `events_index_work`, which deletes an entry (not
      // billed) and adds none. Then the alarm for the nonces' expiry (retention).
      index: 2 * 1 + SET_ALARM,
    });
    expect(claims.slice(1).map(writtenOf)).toEqual([NONCE + QUARANTINED_EVENT, 0]);
    expect(claims[2]).toMatchObject({ replayed: true });
    // The second row does hold them: the figure above is that of a row with the column set.
    expect([await stub.signed("evt_one"), await stub.signed("evt_two")]).toEqual([undefined, { "webhook-id": "msg_two" }]);
  });

  it("a counters flush writes one row per counter", async () => {
    const stub = env.LEDGER.get(env.LEDGER.idFromName(`gate-stats-${uniqueAccount()}/~stats`));
    expect(await stub.counters()).toEqual({});
    const usage: number[] = [];
    const steps = await writtenBySteps(stub, async (instance, _state, step) => {
      usage.push((await instance.addCounters({ accepted: 2, delivered: 1 })).sql_rows_written);
      step("first");
      usage.push((await instance.addCounters({ accepted: 1, delivered: 1, dead: 1 })).sql_rows_written);
      step("second");
    });
    expect(steps).toEqual({
      // The role, then two new counters (one row each: `WITHOUT ROWID`).
      first: META_KEY + 2 * 1,
      // Two updated (`value` is in no index), one new.
      second: 2 * 1 + 1,
    });
    // What a flush reports for the next one (src/stats.ts): the second, exactly; the first
    // also carries what the object did before it (creating its schema).
    expect(usage[1]).toBe(2 * 1 + 1);
    expect(await stub.counters()).toEqual({ accepted: 3, delivered: 2, dead: 1 });
  });

  it("a statement that fails in an alarm run is logged at error, naming the object, and the run fails (the runtime retries it)", async () => {
    const account = `gate-failing-${uniqueAccount()}`;
    const stub = ledger("cybavo", account);
    await stub.accept(await acceptInput("cybavo", account, "a"));
    const { result, lines } = await captureLogs(() =>
      runInDurableObject(stub, async (instance: AccountLedger, state) => {
        await state.storage.deleteAlarm();
        const gate = gateOf(instance);
        const real = gate.rows.bind(gate);
        // The next statement the run makes fails as a storage error would; the gate is restored after.
        gate.rows = () => {
          gate.rows = real;
          throw new Error("SQLITE_IOERR: disk I/O error (test)");
        };
        return instance.alarm().then(
          () => "resolved",
          (err: unknown) => String(err),
        );
      }),
    );
    expect(result).toContain("SQLITE_IOERR");
    expect(lines.filter((l) => l.msg === "alarm_error")).toEqual([
      expect.objectContaining({ level: "error", source: "cybavo", account, message: expect.stringContaining("SQLITE_IOERR") }),
    ]);
  });
});

describe("what the platform counts when rows are retired in bulk (for time-partitioned retention)", () => {
  it("DROP TABLE writes no row, however many it held; DELETE writes one per row", async () => {
    const stub = env.LEDGER.get(env.LEDGER.idFromName(`gate-drop-${uniqueAccount()}/~stats`));
    const counts = await runInDurableObject(stub, (_instance, state) => {
      const sql = state.storage.sql;
      const run = (query: string) => {
        const cursor = sql.exec(query);
        cursor.toArray();
        return { read: cursor.rowsRead, written: cursor.rowsWritten };
      };
      const fill = (table: string) => {
        run(`CREATE TABLE ${table} (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, body TEXT)`);
        return run(
          `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) INSERT INTO ${table} SELECT i, 'evt_' || i, 'body' FROM n`,
        );
      };
      const inserted = fill("bulk_a");
      const dropped = run("DROP TABLE bulk_a");
      fill("bulk_b");
      const deleted = run("DELETE FROM bulk_b");
      // A partition's own tables (src/ledger/partitions.ts), created as a claim creates them.
      const created = [
        run("CREATE TABLE p_keys (id TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID"),
        run("CREATE TABLE p_bodies (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, body TEXT NOT NULL)"),
      ].map((c) => c.written);
      return { inserted, dropped, deleted, created };
    });
    // What CREATE_PAIR stands for above.
    expect(counts.created).toEqual([CREATE_PAIR / 2, CREATE_PAIR / 2]);
    // 1,000 rows and their 1,000 `id` entries.
    expect(counts.inserted.written).toBe(2000);
    // The table's pages are freed without visiting its rows: nothing written, a few pages read.
    expect(counts.dropped.written).toBe(0);
    expect(counts.dropped.read).toBeLessThan(100);
    // A DELETE of every row is billed per row (the entries it removes are not).
    expect(counts.deleted.written).toBe(1000);
  });
});
