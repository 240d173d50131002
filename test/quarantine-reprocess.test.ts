/**
 * Re-processing a quarantined callback whose identity is signed outside its body (Standard
 * Webhooks: the `webhook-id` header). The quarantine keeps what the verifier returned with the
 * body, so once the operator fixes the source (here its `accountPointer`), re-processing makes
 * exactly the event a fresh delivery of that message would make: the same id, so the sender's
 * later retry is a duplicate, and re-processing again (or concurrently) makes no second event.
 * A row kept before those fields were stored (none) is re-processed as before.
 *
 * "Before the fix" is a copy of the test bindings whose standard-webhooks source points at a
 * member the payloads do not have; "after" is the test configuration itself (its
 * `accountPointer` is /data/customer_id), which the ledger objects deliver with.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { eventId, QUARANTINE_ACCOUNT } from "../src/ingress";
import { admin, captureLogs, drain, ledger, newRows, originEvents, post, storedEvents, uniqueAccount } from "./support/gateway";
import { TEST_SECRETS } from "./support/test-config";

const SOURCE = "standard-webhooks";
const SECRET = TEST_SECRETS.STANDARD_WEBHOOKS_SECRET!;

/** The test bindings with the source's accountPointer broken, as an operator's mistake would be. */
function brokenBindings(): Env {
  const sources = (typeof env.SOURCES === "string" ? JSON.parse(env.SOURCES) : env.SOURCES) as Record<string, Record<string, unknown>>;
  const source = { ...sources[SOURCE], accountPointer: "/data/customer" };
  return { ...env, SOURCES: JSON.stringify({ ...sources, [SOURCE]: source }) } as unknown as Env;
}
let broken: Env | undefined;

const messageId = () => `msg_${crypto.randomUUID().replaceAll("-", "")}`;
const invoice = (customer: string) =>
  JSON.stringify({ type: "invoice.paid", timestamp: "2025-06-02T10:15:00.000Z", data: { id: `in_${customer}`, customer_id: customer } });

/** Signs as the sender does (official library), `ago` seconds before now. */
function signed(body: string, id: string, ago = 0): Record<string, string> {
  const at = new Date((Math.floor(Date.now() / 1000) - ago) * 1000);
  return {
    "webhook-id": id,
    "webhook-timestamp": String(at.getTime() / 1000),
    "webhook-signature": new Webhook(SECRET).sign(id, at, body),
  };
}

/** Posts a message with the given bindings; returns the ingress log line. */
async function deliver(body: string, id: string, bindings: Env = env, ago = 0) {
  const { result, lines } = await captureLogs(async () => (await post(SOURCE, body, signed(body, id, ago), bindings)).status);
  expect(result).toBe(200);
  return lines.find((line) => line.msg === "ingress")!;
}

type Outcome = { id: string; outcome: string; eventId?: string; account?: string; reason?: string };

/** Every page of POST …/quarantine/reprocess (the quarantine may hold rows other tests left stuck). */
async function reprocess(): Promise<Outcome[]> {
  const results: Outcome[] = [];
  let after = "0";
  for (;;) {
    const response = await admin("POST", `/sources/${SOURCE}/quarantine/reprocess?limit=500&after=${after}`);
    expect(response.status).toBe(200);
    const page = await response.json<{ results: Outcome[]; next?: string }>();
    results.push(...page.results);
    if (page.next === undefined) return results;
    after = page.next;
  }
}

/** A message quarantined under the broken configuration: its quarantine row id. */
async function quarantined(body: string, id: string): Promise<string> {
  const before = await storedEvents(SOURCE, QUARANTINE_ACCOUNT);
  broken ??= brokenBindings();
  const line = await deliver(body, id, broken, 60);
  expect([line.outcome, line.reason]).toEqual([
    "quarantined",
    'accountPointer /data/customer names no account: no member "customer" in /data',
  ]);
  expect(newRows(before, await storedEvents(SOURCE, QUARANTINE_ACCOUNT)).map((row) => row.id)).toEqual([line.eventId]);
  return String(line.eventId);
}

describe("re-processing a Standard Webhooks callback after its source is fixed", () => {
  it("makes one event with the id a fresh delivery gets; the sender's retry is a duplicate; a second re-process is no second event", async () => {
    const customer = `cus_${uniqueAccount()}`;
    const body = invoice(customer);
    const id = messageId();
    const row = await quarantined(body, id);
    const expected = await eventId(SOURCE, customer, id);

    // Kept whole: the bytes and the signed webhook-id, shown to operators.
    expect(await (await admin("GET", `/sources/${SOURCE}/quarantine/${row}`)).json()).toMatchObject({
      state: "quarantined",
      rawBase64: btoa(body),
      signed: { "webhook-id": id },
    });

    const first = (await reprocess()).filter((r) => r.id === row);
    expect(first).toEqual([{ id: row, outcome: "accepted", eventId: expected, account: customer }]);
    expect((await storedEvents(SOURCE, customer)).map((e) => [e.id, e.type, e.state])).toEqual([[expected, "payment.updated", "pending"]]);
    expect((await storedEvents(SOURCE, QUARANTINE_ACCOUNT)).find((e) => e.id === row)).toMatchObject({
      state: "reprocessed",
      reason: `accepted as ${expected}`,
    });
    // The account's ledger holds the event now: the quarantine keeps no bytes, signed fields or
    // headers of it (an erasure of the event would otherwise leave them here), and still shows the row.
    expect(await (await admin("GET", `/sources/${SOURCE}/quarantine/${row}`)).json()).toMatchObject({
      state: "reprocessed",
      reason: `accepted as ${expected}`,
      rawBase64: null,
      signed: null,
      headers: null,
    });
    expect(
      await runInDurableObject(ledger(SOURCE, QUARANTINE_ACCOUNT), (_instance, state) =>
        state.storage.sql.exec("SELECT raw, signed, headers FROM events WHERE id = ?", row).toArray(),
      ),
    ).toEqual([{ raw: null, signed: null, headers: null }]);

    // The sender retries the message (new timestamp and signature): what ingress gives it is that id, as a duplicate.
    const retry = await deliver(body, id);
    expect([retry.outcome, retry.eventId]).toEqual(["duplicate", expected]);
    // Re-processing again finds nothing of it to do.
    expect((await reprocess()).filter((r) => r.id === row)).toEqual([]);
    expect((await storedEvents(SOURCE, customer)).map((e) => e.id)).toEqual([expected]);

    await drain(SOURCE, customer);
    const received = await originEvents(customer);
    expect(received.map((e) => e.id)).toEqual([expected]);
    expect(received[0]!.json).toMatchObject({
      type: "payment.updated",
      subject: customer,
      data: { status: "succeeded", providerStatus: "invoice.paid", messageId: id, payload: JSON.parse(body) },
    });
  });

  it("a message the sender re-sent after the fix, before the re-process, is one event: the re-process says duplicate", async () => {
    const customer = `cus_${uniqueAccount()}`;
    const body = invoice(customer);
    const id = messageId();
    const row = await quarantined(body, id);
    const expected = await eventId(SOURCE, customer, id);
    const resent = await deliver(body, id);
    expect([resent.outcome, resent.eventId]).toEqual(["accepted", expected]);
    expect((await reprocess()).filter((r) => r.id === row)).toEqual([
      { id: row, outcome: "duplicate", eventId: expected, account: customer },
    ]);
    expect((await storedEvents(SOURCE, customer)).map((e) => e.id)).toEqual([expected]);
  });

  it("property: any number of re-processes, sequential or concurrent, around sender retries, make one event, delivered once", async () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant("reprocess" as const), concurrent: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant("retry" as const), ago: fc.integer({ min: 0, max: 240 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 5 }), async (steps) => {
        const customer = `cus_${uniqueAccount()}`;
        const body = invoice(customer);
        const id = messageId();
        const row = await quarantined(body, id);
        const expected = await eventId(SOURCE, customer, id);
        const outcomes: string[] = [];
        // At least one re-process, at the end if nowhere else.
        const plan = steps.some((s) => s.kind === "reprocess") ? steps : [...steps, { kind: "reprocess" as const, concurrent: 1 }];
        for (const s of plan) {
          if (s.kind === "retry") {
            const line = await deliver(body, id, env, s.ago);
            expect(line.eventId).toBe(expected);
            outcomes.push(String(line.outcome));
            continue;
          }
          const batches = await Promise.all(Array.from({ length: s.concurrent }, () => reprocess()));
          for (const result of batches.flat().filter((r) => r.id === row)) {
            expect(result).toMatchObject({ eventId: expected, account: customer });
            outcomes.push(result.outcome);
          }
        }
        // Exactly one claim made the event; every other was a duplicate of it.
        expect(outcomes.filter((o) => o === "accepted")).toHaveLength(1);
        expect(outcomes.every((o) => o === "accepted" || o === "duplicate")).toBe(true);
        expect((await storedEvents(SOURCE, customer)).map((e) => e.id)).toEqual([expected]);
        expect((await storedEvents(SOURCE, QUARANTINE_ACCOUNT)).find((e) => e.id === row)?.state).toBe("reprocessed");
        await drain(SOURCE, customer);
        expect((await originEvents(customer)).map((e) => e.id)).toEqual([expected]);
      }),
      { numRuns: 12 },
    );
  });

  it("a row kept before signed fields were stored (none) stays quarantined, with the reason it always had", async () => {
    const customer = `cus_${uniqueAccount()}`;
    const row = `evt_old_${customer}`;
    // What the quarantine held before: the body and the reason, nothing from the headers.
    await ledger(SOURCE, QUARANTINE_ACCOUNT).quarantine({
      id: row,
      source: SOURCE,
      account: QUARANTINE_ACCOUNT,
      idempotencyKey: `raw:${customer}`,
      reason: 'accountPointer /data/customer names no account: no member "customer" in /data',
      raw: new TextEncoder().encode(invoice(customer)),
      receivedAt: Date.now(),
    });
    expect((await reprocess()).filter((r) => r.id === row)).toEqual([
      {
        id: row,
        outcome: "still_quarantined",
        reason: "unmapped: no webhook-id (kept before the quarantine stored signed headers; have the sender resend the message)",
      },
    ]);
    expect(await storedEvents(SOURCE, customer)).toEqual([]);
    expect(await (await admin("GET", `/sources/${SOURCE}/quarantine/${row}`)).json()).toMatchObject({ state: "quarantined", signed: null });
  });
});
