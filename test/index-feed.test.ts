/**
 * The operators' D1 index, written by the account objects off the ack path
 * (src/ledger/index-feed.ts): real Durable Objects, the real local D1 database, the real origin.
 * D1 outages are a Proxy around the real binding in one ledger's own `env`
 * (test/support/index-db.ts), as the KV outage tests wrap KV.
 *
 * The invariant (docs/architecture.md "Operators' index"): after any sequence of claims,
 * deliveries, failures, dead letters, redeliveries and replays, with D1 failing at any step,
 * once D1 answers and the object's alarm has run to quiescence, the index holds exactly one row
 * per event of the account, with the ledger's status, attempts, delivery time and `seq`.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { loadConfig } from "../src/config";
import { eventBody, eventId, parseVerified } from "../src/ingress";
import type { AcceptInput, AccountLedger } from "../src/ledger/AccountLedger";
import { utf8 } from "../src/verify/crypto";
import { runAlarmNow } from "./support/alarms";
import {
  admin,
  counterDeltas,
  cybavoCallback,
  drain,
  originEvents,
  postCybavo,
  scriptOrigin,
  storedEvents,
  uniqueAccount,
} from "./support/gateway";
import { accountRow, backOffPassed, countingD1, type D1Calls, failingD1, indexedRefs, indexedRows } from "./support/index-db";
import { acceptInput, ledger, makeDue, setLedgerEnv } from "./support/ledger-faults";
import { ageRows } from "./support/ledger-sql";

const SOURCE = "cybavo";
type Stub = DurableObjectStub<AccountLedger>;

/** A CYBAVO deposit claimed as ingress claims it: its real CloudEvent body (the index reads amount and references from it). */
async function cybavoInput(account: string, serial: number): Promise<AcceptInput> {
  const loaded = loadConfig(env);
  if (!loaded.ok) throw new Error(loaded.errors.join("; "));
  const source = loaded.config.sources.get(SOURCE)!;
  const text = JSON.stringify(cybavoCallback({ wallet_id: Number(account), serial }));
  const parsed = parseVerified(source, utf8(text));
  if (parsed.kind !== "event") throw new Error(parsed.reason);
  const id = await eventId(SOURCE, account, String(serial));
  const receivedAt = Date.now();
  return {
    id,
    source: SOURCE,
    account,
    idempotencyKey: String(serial),
    type: parsed.normalized.event.type,
    body: eventBody(source, id, parsed.normalized, receivedAt, parsed.text),
    receivedAt,
  };
}

/** Claims `inputs` and runs one delivery run in the object, with the runtime's own alarm kept out of it. */
async function claimAndRunOnce(stub: Stub, inputs: AcceptInput[]): Promise<void> {
  await runInDurableObject(stub, async (instance: AccountLedger, state) => {
    for (const input of inputs) await instance.accept(input);
    await state.storage.deleteAlarm();
    await instance.alarm();
  });
}

/** The ledger's events as the index must show them. */
async function ledgerView(account: string) {
  return (await storedEvents(SOURCE, account)).map((e) => ({
    id: e.id,
    seq: e.seq,
    status: e.state,
    attempts: e.attempts,
    delivered_at: e.delivered_at,
  }));
}

async function indexView(account: string) {
  return (await indexedRows(SOURCE, account)).map((r) => ({
    id: r.id,
    seq: r.seq,
    status: r.status,
    attempts: r.attempts,
    delivered_at: r.delivered_at,
  }));
}

describe("what the index holds", () => {
  it("a delivered CYBAVO deposit: one row with its state, amount, currency and the provider's references", async () => {
    const account = String(uniqueAccount());
    const callback = cybavoCallback({ wallet_id: Number(account) });
    expect((await postCybavo(SOURCE, callback)).status).toBe(200);
    await drain(SOURCE, account);
    const [event] = await storedEvents(SOURCE, account);
    const rows = await indexedRows(SOURCE, account);
    expect(rows).toEqual([
      expect.objectContaining({
        id: event!.id,
        source: SOURCE,
        account,
        seq: 1,
        type: "deposit.updated",
        status: "delivered",
        amount: "0.5",
        currency: "ETH",
        received_at: event!.received_at,
        delivered_at: event!.delivered_at,
        attempts: 1,
        last_status: 200,
        next_attempt_at: null,
        reason: null,
      }),
    ]);
    const refs = [String(callback.serial), String(callback.txid)].sort();
    expect(JSON.parse(rows[0]!.refs)).toEqual(refs);
    expect(await indexedRefs(event!.id)).toEqual(refs);
    expect(await accountRow(SOURCE, account)).toMatchObject({
      pending: 0,
      oldest_pending_at: null,
      last_status: 200,
      consecutive_failures: 0,
    });
  });

  it("events that arrive while the account is paused are indexed, pending, before it resumes", async () => {
    const account = String(uniqueAccount());
    expect((await postCybavo(SOURCE, cybavoCallback({ wallet_id: Number(account) }))).status).toBe(200);
    await drain(SOURCE, account);
    await ledger(SOURCE, account).pause("test");
    // No forced alarm: the object schedules the index's write itself, also for an event that
    // arrives behind one already held (a claim into a non-empty outbox sets no delivery alarm).
    for (const statuses of [
      ["delivered", "pending"],
      ["delivered", "pending", "pending"],
    ]) {
      expect((await postCybavo(SOURCE, cybavoCallback({ wallet_id: Number(account) }))).status).toBe(200);
      await vi.waitFor(async () => expect((await indexedRows(SOURCE, account)).map((r) => r.status)).toEqual(statuses), {
        timeout: 5_000,
        interval: 100,
      });
    }
    expect((await originEvents(account)).length).toBe(1);
    await ledger(SOURCE, account).resume("test");
    await drain(SOURCE, account);
    expect((await originEvents(account)).length).toBe(3);
  }, 20_000);

  it("a quarantined callback: status quarantined, no type, no references, its reason; re-processed later", async () => {
    const callback = cybavoCallback({ wallet_id: uniqueAccount(), state: 42 });
    expect((await postCybavo(SOURCE, callback)).status).toBe(200);
    const quarantine = ledger(SOURCE, "~quarantine");
    await runAlarmNow(quarantine);
    const rows = (await indexedRows(SOURCE, "~quarantine")).filter((r) => r.reason === "unmapped: state 42" && r.status === "quarantined");
    expect(rows.length).toBeGreaterThanOrEqual(1);
    const row = rows.at(-1)!;
    expect(row).toMatchObject({ type: null, refs: "[]", amount: null, currency: null });
    await quarantine.markReprocessed(row.id, "accepted as evt_test");
    const after = (await indexedRows(SOURCE, "~quarantine")).find((r) => r.id === row.id);
    expect(after).toMatchObject({ status: "reprocessed", reason: "accepted as evt_test" });
  });

  it("a dead letter, then its redelivery: dead in the index, pending as soon as the operator acts, delivered after", async () => {
    const account = String(uniqueAccount());
    await scriptOrigin(account, [410]);
    expect((await postCybavo(SOURCE, cybavoCallback({ wallet_id: Number(account) }))).status).toBe(200);
    await drain(SOURCE, account);
    const [dead] = await storedEvents(SOURCE, account);
    expect(await indexView(account)).toEqual([{ id: dead!.id, seq: 1, status: "dead", attempts: 1, delivered_at: null }]);
    expect((await indexedRows(SOURCE, account))[0]).toMatchObject({ reason: "HTTP 410", last_status: 410 });
    const response = await admin("POST", `/sources/${SOURCE}/accounts/${account}/events/${dead!.id}/redeliver`);
    expect(response.status).toBe(202);
    expect((await indexView(account))[0]).toMatchObject({ status: "pending" });
    await drain(SOURCE, account);
    expect(await indexView(account)).toEqual(await ledgerView(account));
    expect((await indexView(account))[0]).toMatchObject({ status: "delivered", attempts: 2 });
  });

  it("allow-listed request headers only: never authorization, cookies, signatures or API keys", async () => {
    const account = String(uniqueAccount());
    const sent = {
      "user-agent": "CYBAVO-Callback/1.0",
      "cf-ray": "8f00000000000000-AMS",
      "cf-ipcountry": "NL",
      "cf-connecting-ip": "203.0.113.7",
      "x-forwarded-for": "203.0.113.7",
      authorization: "Bearer secret-token",
      cookie: "session=secret",
      "x-api-key": "secret-key",
      "x-signature": "secret-signature",
      "x-custom": "not allow-listed",
    };
    expect((await postCybavo(SOURCE, cybavoCallback({ wallet_id: Number(account) }), undefined, sent)).status).toBe(200);
    const [event] = await storedEvents(SOURCE, account);
    const detail = await (await admin("GET", `/sources/${SOURCE}/accounts/${account}/events/${event!.id}`)).json<{
      headers: Record<string, string> | null;
    }>();
    // content-length is there when the runtime gives the request one (a test's Request may not).
    expect(
      Object.keys(detail.headers ?? {})
        .filter((name) => name !== "content-length")
        .sort(),
    ).toEqual(["cf-connecting-ip", "cf-ipcountry", "cf-ray", "content-type", "user-agent", "x-forwarded-for"]);
    expect(detail.headers).toMatchObject({
      "user-agent": "CYBAVO-Callback/1.0",
      "cf-ray": "8f00000000000000-AMS",
      "content-type": "application/json",
    });
    expect(JSON.stringify(detail)).not.toMatch(/secret|x-checksum|authorization|cookie/i);
  });
});

describe("off the ack path", () => {
  it("a claim makes no D1 call; the alarm run after it makes one batch", async () => {
    const account = `nod1-${uniqueAccount()}`;
    const stub = ledger(SOURCE, account);
    await stub.events({ limit: 1 });
    const seen: D1Calls = { calls: {}, rowsWritten: [] };
    const restore = await setLedgerEnv(stub, (real) => ({ ...real, INDEX_DB: countingD1(real.INDEX_DB, seen) }));
    let calls: { onAccept: Record<string, number>; afterAlarm: Record<string, number> } | undefined;
    // Counter flushes held: the run's flush writes the overview's series to D1 too, a call of its own.
    await counterDeltas(SOURCE, async () => {
      calls = await runInDurableObject(stub, async (instance: AccountLedger, state) => {
        for (const key of ["a", "b", "c"]) await instance.accept(await acceptInput(SOURCE, account, key));
        await state.storage.deleteAlarm();
        const onAccept = { ...seen.calls };
        await instance.alarm();
        return { onAccept, afterAlarm: { ...seen.calls } };
      });
    });
    await restore();
    expect(calls?.onAccept).toEqual({});
    expect(calls?.afterAlarm.batch).toBe(1);
  });

  it("ingest with D1 down answers 200 and delivers; the index catches up once D1 answers", async () => {
    const account = String(uniqueAccount());
    const stub = ledger(SOURCE, account);
    await stub.events({ limit: 1 });
    const restore = await setLedgerEnv(stub, (real) => ({ ...real, INDEX_DB: failingD1() }));
    const callbacks = [1, 2, 3].map((i) => cybavoCallback({ wallet_id: Number(account), serial: Number(account) * 10 + i }));
    for (const callback of callbacks) expect((await postCybavo(SOURCE, callback)).status).toBe(200);
    await drain(SOURCE, account);
    expect((await originEvents(account)).map((e) => e.json.subject)).toEqual([account, account, account]);
    expect(await indexedRows(SOURCE, account)).toEqual([]);
    await restore();
    await backOffPassed(stub);
    await runAlarmNow(stub);
    expect(await indexView(account)).toEqual(await ledgerView(account));
  });
});

describe("a long delivery run", () => {
  it("writes the index between its events (every BETWEEN_EVERY_MS), not only when it ends", async () => {
    const account = String(uniqueAccount());
    const stub = ledger(SOURCE, account);
    await stub.events({ limit: 1 });
    const seen: D1Calls = { calls: {}, rowsWritten: [] };
    const restore = await setLedgerEnv(stub, (real) => ({ ...real, INDEX_DB: countingD1(real.INDEX_DB, seen) }));
    const inputs = await Promise.all(Array.from({ length: 12 }, (_, i) => cybavoInput(account, Number(account) * 100 + i)));
    // A clock that moves 50 ms at each reading: the run lasts a few "seconds" of it, well inside
    // its 20 s budget, so its feed is called between events several times.
    const real = Date.now.bind(Date);
    let ticks = 0;
    const clock = vi.spyOn(Date, "now").mockImplementation(() => real() + 50 * ++ticks);
    try {
      await counterDeltas(SOURCE, () => claimAndRunOnce(stub, inputs));
    } finally {
      clock.mockRestore();
      await restore();
    }
    expect((await originEvents(account)).length).toBe(12);
    // One batch per slice of the run, then the last one; the index holds every event.
    expect(seen.calls.batch ?? 0).toBeGreaterThanOrEqual(3);
    expect(await indexView(account)).toEqual(await ledgerView(account));
  });
});

describe("rows written to D1 per delivered event (D1's own batch meta)", () => {
  /** Ten CYBAVO deposits claimed and delivered in one run, under `mode`: the rows each D1 batch wrote. */
  async function measured(mode: "all" | "attention"): Promise<number[]> {
    const account = String(uniqueAccount());
    const stub = ledger(SOURCE, account);
    await stub.events({ limit: 1 });
    const seen: D1Calls = { calls: {}, rowsWritten: [] };
    const restore = await setLedgerEnv(stub, (real) => ({ ...real, INDEX_MODE: mode, INDEX_DB: countingD1(real.INDEX_DB, seen) }) as Env);
    const inputs = await Promise.all(Array.from({ length: 10 }, (_, i) => cybavoInput(account, Number(account) * 100 + i)));
    // Counter flushes held: the run's flush writes the overview's series to D1, a batch of its own.
    const counted = await counterDeltas(SOURCE, () => claimAndRunOnce(stub, inputs));
    await restore();
    // The billable counter says the same as D1's meta.
    expect(counted.d1_rows_written ?? 0).toBe(seen.rowsWritten.reduce((a, b) => a + b, 0));
    return seen.rowsWritten;
  }

  it('"all": each event is its row and its `events_by_time` entry (2) and its two references (serial, txid: 2); the account row once (1)', async () => {
    expect(await measured("all")).toEqual([10 * (2 + 2) + 1]);
  });

  it('"attention": a delivered event writes nothing (an UPDATE of a row that is not there); the account row once', async () => {
    expect(await measured("attention")).toEqual([1]);
  });

  it('"off": the runs make no D1 call and set no wake-up for the index; back on, the feed indexes every event from where it stopped', async () => {
    const account = String(uniqueAccount());
    const stub = ledger(SOURCE, account);
    await stub.events({ limit: 1 });
    const seen: D1Calls = { calls: {}, rowsWritten: [] };
    const restore = await setLedgerEnv(stub, (real) => ({ ...real, INDEX_MODE: "off", INDEX_DB: countingD1(real.INDEX_DB, seen) }) as Env);
    const inputs = await Promise.all(Array.from({ length: 3 }, (_, i) => cybavoInput(account, Number(account) * 100 + i)));
    await counterDeltas(SOURCE, () => claimAndRunOnce(stub, inputs));
    expect(seen.calls).toEqual({});
    expect((await originEvents(account)).length).toBe(3);
    // Nothing left for the index to wake the object for (only retention's look, an hour or more away).
    const alarm = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
    expect(alarm === null || alarm > Date.now() + 30 * 60_000).toBe(true);
    expect(await indexedRows(SOURCE, account)).toEqual([]);
    await restore();
    await runAlarmNow(stub);
    expect(await indexView(account)).toEqual(await ledgerView(account));
    expect((await indexView(account)).map((r) => r.status)).toEqual(["delivered", "delivered", "delivered"]);
  });

  it('"attention": a dead letter and an event pending longer than INDEX_PENDING_AFTER_SECONDS are indexed; a young pending one is not', async () => {
    const account = String(uniqueAccount());
    const stub = ledger(SOURCE, account);
    await stub.events({ limit: 1 });
    const restore = await setLedgerEnv(stub, (real) => ({ ...real, INDEX_MODE: "attention", INDEX_PENDING_AFTER_SECONDS: "60" }) as Env);
    await scriptOrigin(account, [410, 503]);
    const inputs = [await cybavoInput(account, 1), await cybavoInput(account, 2), await cybavoInput(account, 3)];
    await claimAndRunOnce(stub, inputs);
    // The first is dead, the second waits for its retry, the third is behind it: none is old yet.
    expect((await indexView(account)).map((r) => r.status)).toEqual(["dead"]);
    await runInDurableObject(stub, async (instance: AccountLedger, state) => {
      ageRows(instance, state.storage.sql, 120_000, "received");
      await state.storage.deleteAlarm();
      await instance.alarm();
    });
    expect((await indexView(account)).map((r) => [r.seq, r.status, r.attempts])).toEqual([
      [1, "dead", 1],
      [2, "pending", 1],
      [3, "pending", 0],
    ]);
    await restore();
  });
});

type Step =
  | { kind: "accept" }
  | { kind: "run"; replies: (200 | 500 | 410)[] }
  | { kind: "redeliver"; pick: number }
  | { kind: "replay" }
  | { kind: "d1"; up: boolean };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Step>({ kind: "accept" }) },
  {
    weight: 3,
    arbitrary: fc
      .array(fc.constantFrom<200 | 500 | 410>(200, 500, 410), { maxLength: 3 })
      .map((replies): Step => ({ kind: "run", replies })),
  },
  { weight: 1, arbitrary: fc.nat({ max: 20 }).map((pick): Step => ({ kind: "redeliver", pick })) },
  { weight: 1, arbitrary: fc.constant<Step>({ kind: "replay" }) },
  { weight: 2, arbitrary: fc.boolean().map((up): Step => ({ kind: "d1", up })) },
);

describe("invariant", () => {
  it("property: after any steps with D1 failing at any of them, once D1 answers and the alarm is quiet, the index equals the ledger", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 14 }), async (steps) => {
        const account = `prop-${uniqueAccount()}`;
        const stub = ledger(SOURCE, account);
        await stub.events({ limit: 1 });
        let restore: (() => Promise<void>) | undefined;
        let keys = 0;
        for (const s of steps) {
          if (s.kind === "accept") await stub.accept(await acceptInput(SOURCE, account, `k${keys++}`));
          else if (s.kind === "run") {
            await scriptOrigin(account, s.replies);
            await makeDue(stub);
            await runAlarmNow(stub);
          } else if (s.kind === "redeliver") {
            const events = await storedEvents(SOURCE, account);
            if (events.length > 0) await stub.redeliver(events[s.pick % events.length]!.id);
          } else if (s.kind === "replay") await stub.replay(0);
          else if (!s.up && restore === undefined) restore = await setLedgerEnv(stub, (real) => ({ ...real, INDEX_DB: failingD1() }));
          else if (s.up && restore !== undefined) {
            await restore();
            restore = undefined;
          }
        }
        await restore?.();
        // D1 answers; one more run with the origin failing (its pending events stay pending, the
        // head with one attempt more), the back-off's wait standing for time passing.
        await backOffPassed(stub);
        await scriptOrigin(
          account,
          Array.from({ length: 20 }, () => 500),
        );
        await makeDue(stub);
        await runAlarmNow(stub);
        expect(await indexView(account)).toEqual(await ledgerView(account));
        // Then everything delivered or dead: the index follows.
        await scriptOrigin(account, []);
        await drain(SOURCE, account);
        await backOffPassed(stub);
        await runAlarmNow(stub);
        const ledgerSide = await ledgerView(account);
        expect(await indexView(account)).toEqual(ledgerSide);
        expect(new Set(ledgerSide.map((e) => e.id)).size).toBe(ledgerSide.length);
      }),
      { numRuns: 12 },
    );
  }, 120_000);
});
