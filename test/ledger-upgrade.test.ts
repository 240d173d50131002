/**
 * Objects that are already deployed keep working: the storage an earlier commit wrote (captured
 * from that commit running for real: test/fixtures/ledger-upgrade/README.md) is written into
 * fresh objects with raw SQL, the instance is reset, and the current code wakes on it. Its
 * schema migrations run in the object; then pending outbox rows are delivered in order under
 * their stored ids, dead letters keep their attempts, quarantined callbacks stay listable with
 * their raw bytes, a stored key is still a duplicate (0.1 ids included), a recorded nonce is
 * still a replay, and the counters keep their values. Migration 9 re-indexes each object's
 * history into the operators' D1 index when it next wakes (the upgrade's backfill).
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { eventId } from "../src/ingress";
import { MIGRATIONS, migrate } from "../src/ledger/schema";
import { LedgerStorage } from "../src/ledger/storage";
import v01 from "./fixtures/ledger-upgrade/v0.1-c445f17.json" with { type: "json" };
import v02 from "./fixtures/ledger-upgrade/v0.2-09c7e2b.json" with { type: "json" };
import v03 from "./fixtures/ledger-upgrade/v0.3-a17511a.json" with { type: "json" };
import v04 from "./fixtures/ledger-upgrade/v0.4-c8407a3.json" with { type: "json" };
import v05 from "./fixtures/ledger-upgrade/v0.5-0afac89.json" with { type: "json" };
import { captureLogs, cybavoCallback, drain, originEvents, postCybavo, scriptOrigin } from "./support/gateway";
import { indexedRows } from "./support/index-db";
import { acceptInput } from "./support/ledger-faults";
import { allRows } from "./support/ledger-sql";

type Value = string | number | null | { base64: string };
interface FixtureObject {
  name: string;
  capturedAt: number;
  alarm: number | null;
  schema: { type: string; name: string; sql: string | null }[];
  tables: Record<string, { columns: string[]; rows: Value[][] }>;
}
interface Fixture {
  commit: string;
  version: string;
  capturedAt: number;
  callbacks: Record<string, unknown>[];
  objects: FixtureObject[];
}

/** The serial of the event each upgraded account receives after the upgrade (its fixtures use others). */
const NEW_SERIAL = 990_000_001;

/** Columns that hold Unix ms: moved forward by the fixture's age, so retention sees it as fresh (a keys partition's as `events`'). */
const TIME_COLUMNS = new Set([
  "events.received_at",
  "events.next_attempt_at",
  "events.delivered_at",
  "attempts.at",
  "nonces.expires_at",
  "partitions.starts_at",
  "partitions.ends_at",
]);
const timeColumn = (table: string, column: string) => TIME_COLUMNS.has(`${/^keys_\d+$/.test(table) ? "events" : table}.${column}`);

const fromBase64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const stub = (name: string) => env.LEDGER.get(env.LEDGER.idFromName(name));

function sqlValue(table: string, column: string, value: Value, shift: number): SqlStorageValue {
  if (value !== null && typeof value === "object") return fromBase64(value.base64).buffer as ArrayBuffer;
  if (typeof value === "number" && timeColumn(table, column)) return value + shift;
  return value;
}

/**
 * Replaces the storage of the object `name` with the fixture object's (schema in its creation
 * order, then every row), then resets the instance: the next call constructs the current code
 * over that storage, as a deploy does.
 */
async function load(object: FixtureObject, name: string, shift: number): Promise<void> {
  await runInDurableObject(stub(name), async (_instance, state) => {
    await state.storage.deleteAll();
    const sql = state.storage.sql;
    // `sql` is null for the indexes SQLite makes itself (UNIQUE, PRIMARY KEY); sqlite_sequence
    // comes with the first AUTOINCREMENT table.
    for (const entry of object.schema) if (entry.sql !== null && entry.name !== "sqlite_sequence") sql.exec(entry.sql);
    for (const [table, { columns, rows }] of Object.entries(object.tables)) {
      const names = columns.map((c) => `"${c}"`).join(", ");
      const marks = columns.map(() => "?").join(", ");
      for (const row of rows) {
        sql.exec(`INSERT INTO "${table}" (${names}) VALUES (${marks})`, ...row.map((v, i) => sqlValue(table, columns[i]!, v, shift)));
      }
    }
    if (object.alarm !== null) await state.storage.setAlarm(object.alarm + shift);
  });
  // The instance is evicted (storage kept, in-memory state dropped), as a deploy restarts it;
  // unlike state.abort(), eviction lets in-flight work finish and breaks no output gate.
  const before = await runInDurableObject(stub(name), (instance) => instance);
  await evictDurableObject(stub(name));
  expect(await runInDurableObject(stub(name), (instance) => instance === before)).toBe(false);
}

function rows(object: FixtureObject, table: string): Record<string, Value>[] {
  const { columns, rows } = object.tables[table]!;
  return rows.map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i]!])));
}

/** Every event row an object held, in `events` and (from 0.5, migration 8) in its keys partitions, in `seq` order. */
function eventRows(object: FixtureObject): Record<string, Value>[] {
  const tables = Object.keys(object.tables).filter((t) => t === "events" || /^keys_\d+$/.test(t));
  return tables.flatMap((t) => rows(object, t)).sort((a, b) => Number(a.seq) - Number(b.seq));
}

describe.each([
  ["0.1 (c445f17)", v01 as Fixture],
  ["0.2 (09c7e2b)", v02 as Fixture],
  ["0.3 (a17511a)", v03 as Fixture],
  ["0.4 (c8407a3)", v04 as Fixture],
  ["0.5 (0afac89)", v05 as Fixture],
])("a ledger written by %s", (_label, fixture) => {
  const [account, cabital, quarantine, stats] = fixture.objects as [FixtureObject, FixtureObject, FixtureObject, FixtureObject];
  const wallet = account.name.split("/")[1]!;
  // Internal objects are loaded under names of their own: the source's real ~quarantine and
  // ~stats objects serve the other test files.
  const quarantineName = `upgrade-${fixture.commit}/~quarantine`;
  const statsName = `upgrade-${fixture.commit}/~stats`;
  const stored = eventRows(account);

  beforeAll(async () => {
    const shift = Date.now() - fixture.capturedAt;
    await load(account, account.name, shift);
    await load(cabital, cabital.name, shift);
    await load(quarantine, quarantineName, shift);
    await load(stats, statsName, shift);
  });

  it("runs the migrations it has not seen, in the object", async () => {
    const meta = await runInDurableObject(stub(account.name), (_instance, state) =>
      state.storage.sql.exec<{ key: string; value: string }>("SELECT key, value FROM _meta ORDER BY key").toArray(),
    );
    expect(Object.fromEntries(meta.map((m) => [m.key, m.value]))).toMatchObject({
      schema: String(MIGRATIONS.length),
      source: "cybavo",
      account: wallet,
      // 0.1 ids are still checked where 0.1 stored events (migration 4).
      ...(fixture.version === "0.1" && { legacy_ids: "1" }),
    });
    expect(meta.some((m) => m.key === "legacy_ids")).toBe(fixture.version === "0.1");
  });

  it("keeps every event row, and a provider's retry of any of them is a duplicate", async () => {
    expect((await stub(account.name).events()).map((e) => [e.seq, e.id, e.state])).toEqual(stored.map((e) => [e.seq, e.id, e.state]));
    const { lines } = await captureLogs(async () => {
      for (const callback of fixture.callbacks) expect((await postCybavo("cybavo", callback)).status).toBe(200);
    });
    expect(lines.filter((l) => l.msg === "ingress").map((l) => l.outcome)).toEqual(fixture.callbacks.map(() => "duplicate"));
    expect(await stub(account.name).events()).toHaveLength(stored.length);
  });

  it("stores a new event in a time partition, numbered after every stored row; its retry is a duplicate too", async () => {
    const callback = cybavoCallback({ wallet_id: Number(wallet), serial: NEW_SERIAL });
    const { lines } = await captureLogs(async () => {
      expect((await postCybavo("cybavo", callback)).status).toBe(200);
      expect((await postCybavo("cybavo", callback)).status).toBe(200);
    });
    expect(lines.filter((l) => l.msg === "ingress").map((l) => l.outcome)).toEqual(["accepted", "duplicate"]);
    const rowsNow = await runInDurableObject(stub(account.name), (_instance, state) => allRows(state.storage.sql));
    const fresh = rowsNow.at(-1)!;
    expect(fresh.table).toMatch(/^keys_\d+$/);
    expect(fresh.seq).toBe(Math.max(...stored.map((e) => Number(e.seq))) + 1);
    // The stored rows stay where they were: in `events`, or (0.5) in their time partition.
    expect(rowsNow.filter((r) => r.table === "events").map((r) => r.id)).toEqual(rows(account, "events").map((e) => e.id));
  });

  it("delivers the pending outbox rows in order, under their stored ids and sequence, then the new event", async () => {
    await scriptOrigin(wallet, []);
    await drain("cybavo", wallet);
    const pending = stored.filter((e) => e.state === "pending");
    const received = await originEvents(wallet);
    const fresh = await eventId("cybavo", wallet, String(NEW_SERIAL));
    const next = String(Math.max(...stored.map((e) => Number(e.seq))) + 1).padStart(19, "0");
    expect(received.map((e) => [e.id, (e.json as unknown as { sequence: string }).sequence])).toEqual([
      ...pending.map((e) => [e.id, String(e.seq).padStart(19, "0")]),
      [fresh, next],
    ]);
    expect((await stub(account.name).events()).map((e) => e.state)).toEqual([
      "delivered",
      "dead",
      "delivered",
      "delivered",
      "delivered",
      "delivered",
    ]);
  });

  it("keeps a dead letter's attempts, and redelivers it on request", async () => {
    const dead = stored.find((e) => e.state === "dead")!;
    const before = await stub(account.name).event(String(dead.id));
    expect(before?.attempts).toEqual(
      rows(account, "attempts")
        .filter((a) => a.event_seq === dead.seq)
        .map((a) => expect.objectContaining({ attempt: a.attempt, outcome: a.outcome, status: a.status, error: a.error })),
    );
    expect(await stub(account.name).redeliver(String(dead.id))).toBe("queued");
    await drain("cybavo", wallet);
    expect((await originEvents(wallet)).map((e) => e.id).at(-1)).toBe(dead.id);
  });

  it("re-indexes its history into the operators' D1 index when it wakes (migration 9's backfill)", async () => {
    // The account's alarm has run (the deliveries above); the quarantine's runs now.
    await runDurableObjectAlarm(stub(quarantineName));
    const ledgerSide = (await stub(account.name).events()).map((e) => [e.id, e.seq, e.state, e.attempts, e.delivered_at]);
    const indexSide = (await indexedRows("cybavo", wallet)).map((r) => [r.id, r.seq, r.status, r.attempts, r.delivered_at]);
    expect(indexSide).toEqual(ledgerSide);
    const quarantined = new Map((await indexedRows("cybavo", "~quarantine")).map((r) => [r.id, r]));
    for (const kept of rows(quarantine, "events")) {
      expect(quarantined.get(String(kept.id))).toMatchObject({ status: "quarantined", type: null, refs: "[]", reason: kept.reason });
    }
  });

  it("keeps quarantined callbacks listable with their raw bytes", async () => {
    const kept = rows(quarantine, "events");
    const listed = await stub(quarantineName).quarantined();
    expect(listed.map((q) => [q.id, q.reason, [...q.raw]])).toEqual(
      kept.map((q) => [q.id, q.reason, [...fromBase64((q.raw as { base64: string }).base64)]]),
    );
    const first = kept[0]!;
    expect(new TextDecoder().decode(await stub(quarantineName).raw(String(first.id)))).toContain(`"wallet_id":${wallet}`);
    expect((await stub(quarantineName).event(String(first.id)))?.event.state).toBe("quarantined");
    // No signed fields: 0.1 and 0.2 stored these before the quarantine kept any (migration 6 adds
    // the column, NULL for their rows), and from 0.3 on CYBAVO's verifier returns none (it signs
    // the body only). Listed without any, so re-processing reads them from the body alone.
    expect(listed.map((q) => "signed" in q)).toEqual(kept.map(() => false));
    expect(await stub(quarantineName).signed(String(first.id))).toBeUndefined();
    const column = await runInDurableObject(stub(quarantineName), (_instance, state) =>
      state.storage.sql.exec<{ signed: string | null }>("SELECT signed FROM events ORDER BY seq").toArray(),
    );
    expect(column).toEqual(kept.map(() => ({ signed: null })));
  });

  it("still refuses a recorded nonce as a replay, and records a new one", async () => {
    const [nonce] = rows(cabital, "nonces");
    const [user] = cabital.name.split("/").slice(1);
    const input = await acceptInput("cabital", user!, "after-upgrade");
    const replay = { nonce: String(nonce!.nonce), expiresAt: Date.now() + 3_600_000 };
    expect(await stub(cabital.name).accept({ ...input, replay })).toMatchObject({ replayed: true });
    expect(await stub(cabital.name).accept({ ...input, replay: { ...replay, nonce: `${replay.nonce}-new` } })).toMatchObject({
      stored: true,
      duplicate: false,
    });
  });

  it("keeps the counters, and adds to them", async () => {
    const kept = Object.fromEntries(rows(stats, "counters").map((c) => [c.name, c.value]));
    expect(await stub(statsName).counters()).toEqual(kept);
    await stub(statsName).addCounters({ accepted: 2 });
    expect((await stub(statsName).counters()).accepted).toBe(Number(kept.accepted) + 2);
  });

  it("records each object's role on its first write of its kind (none was stored before)", async () => {
    const role = (name: string) =>
      runInDurableObject(
        stub(name),
        (_instance, state) => state.storage.sql.exec<{ value: string }>("SELECT value FROM _meta WHERE key = 'role'").toArray()[0]?.value,
      );
    expect(await role(account.name)).toBe("account");
    expect(await role(cabital.name)).toBe("account");
    expect(await role(statsName)).toBe("stats");
    // The quarantine has had reads only so far: no role yet, until it re-processes a callback
    // (0.3 and later recorded roles already).
    expect(await role(quarantineName)).toBe(["0.3", "0.4", "0.5"].includes(fixture.version) ? "quarantine" : undefined);
    await stub(quarantineName).markReprocessed(String(rows(quarantine, "events")[0]!.id), "accepted as evt_test");
    expect(await role(quarantineName)).toBe("quarantine");
  });

  it("ends with the schema a new object creates (one step instead of every migration)", async () => {
    const schemaOf = (name: string) =>
      runInDurableObject(stub(name), (_instance, state) =>
        state.storage.sql
          .exec<{ type: string; name: string; tbl_name: string; sql: string | null }>(
            "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name != 'sqlite_sequence' ORDER BY name",
          )
          .toArray()
          // Time partitions are made by claims (src/ledger/partitions.ts), not by the schema.
          .filter((e) => !/^(keys|bodies)_\d+$/.test(e.tbl_name))
          // ALTER TABLE … RENAME quotes the new name in the stored statement.
          .map((e) => ({ ...e, sql: e.sql?.replace(/^CREATE TABLE "(\w+)"/, "CREATE TABLE $1") ?? null })),
      );
    const fresh = `upgrade-fresh-${fixture.commit}/1`;
    await stub(fresh).events({ limit: 1 });
    expect(await schemaOf(account.name)).toEqual(await schemaOf(fresh));
  });
});

describe("sequence numbers across migration 7 (AUTOINCREMENT dropped)", () => {
  it("a claim numbers after the highest seq AUTOINCREMENT gave, even when that row was deleted before the upgrade", async () => {
    const fixture = v03 as Fixture;
    const account = structuredClone(fixture.objects[0]!) as FixtureObject;
    // The newest row is gone (0.3's retention could delete it); sqlite_sequence still says 5.
    account.tables.events!.rows = account.tables.events!.rows.filter((row) => row[0] !== 5);
    account.tables.attempts!.rows = account.tables.attempts!.rows.filter((row) => row[0] !== 5);
    expect(account.tables.sqlite_sequence!.rows).toEqual([["events", 5]]);
    const name = "cybavo/upgrade-floor";
    await load(account, name, Date.now() - fixture.capturedAt);
    const input = await acceptInput("cybavo", "upgrade-floor", "after-upgrade");
    expect(await stub(name).accept(input)).toMatchObject({ stored: true, duplicate: false });
    expect((await stub(name).events()).map((e) => e.seq)).toEqual([1, 2, 3, 4, 6]);
  });
});

describe("a migration that fails halfway", () => {
  it("leaves the object as it was, and the next wake migrates it whole (migration 7 copies tables: a full disk can stop it)", async () => {
    const fixture = v03 as Fixture;
    const account = structuredClone(fixture.objects[0]!) as FixtureObject;
    const name = "cybavo/upgrade-interrupted";
    // The gate's statement runner fails once, at the copy of `attempts` (after `events` was
    // rebuilt), as SQLITE_FULL would. The first wake after the fixture is written (inside `load`)
    // is the one that migrates.
    const real = LedgerStorage.prototype.rows;
    let failed = 0;
    LedgerStorage.prototype.rows = function (this: LedgerStorage, query: string, ...bindings: unknown[]) {
      if (failed === 0 && query.startsWith("INSERT INTO attempts_next")) {
        failed++;
        throw new Error("injected: database or disk is full");
      }
      return real.call(this, query, ...bindings);
    } as typeof real;
    let error: unknown;
    try {
      error = await load(account, name, Date.now() - fixture.capturedAt).then(
        () => undefined,
        (e: unknown) => e,
      );
    } finally {
      LedgerStorage.prototype.rows = real;
    }
    expect(String(error)).toContain("injected: database or disk is full");
    expect(failed).toBe(1);
    // Nothing of the failed migration was kept: still at 6, no half-built table.
    const after = await runInDurableObject(stub(name), (_instance, state) => ({
      schema: state.storage.sql.exec<{ value: string }>("SELECT value FROM _meta WHERE key = 'schema'").toArray()[0]?.value,
      tables: state.storage.sql
        .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%_next'")
        .toArray()
        .map((t) => t.name),
    }));
    expect(after).toEqual({ schema: String(MIGRATIONS.length), tables: [] });
    const stored = rows(account, "events");
    expect((await stub(name).events()).map((e) => [e.seq, e.id, e.state])).toEqual(stored.map((e) => [e.seq, e.id, e.state]));
  });
});

describe("a rollback past a schema migration", () => {
  it("code older than an object's schema refuses to migrate it, rather than miss or renumber its events", async () => {
    const name = `cybavo/rollback-${Date.now()}`;
    await stub(name).accept(await acceptInput("cybavo", name.split("/")[1]!, "k"));
    const refused = await runInDurableObject(stub(name), (_instance, state) => {
      const sql = state.storage.sql;
      // As a newer release with one more migration would leave it, woken by this code.
      sql.exec("UPDATE _meta SET value = ? WHERE key = 'schema'", String(MIGRATIONS.length + 1));
      let error: unknown;
      try {
        migrate(new LedgerStorage(state.storage));
      } catch (err) {
        error = err;
      }
      sql.exec("UPDATE _meta SET value = ? WHERE key = 'schema'", String(MIGRATIONS.length));
      return error instanceof Error ? `${error.name}: ${error.message}` : "no error";
    });
    expect(refused).toBe(
      `LedgerSchemaTooNew: ledger schema ${MIGRATIONS.length + 1} was written by a newer release; this code knows ${MIGRATIONS.length} migrations: deploy the newer release again`,
    );
  });
});
