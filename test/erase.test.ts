/**
 * Erasing an event's payload (personal data) while keeping its identity
 * (docs/operations.md "Erase an event's payload", docs/guarantees.md): the CloudEvent body (or a
 * quarantined callback's bytes and signed fields) is gone from every table, the key row stays, so
 * the provider's retry of the same callback is still a duplicate and is never delivered again;
 * an erased event cannot be redelivered or replayed; a pending one cannot be erased.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { QUARANTINE_ACCOUNT } from "../src/ingress";
import { toHex } from "../src/verify/crypto";
import { runAlarmNow } from "./support/alarms";
import {
  admin,
  cybavoCallback,
  drain,
  ledger,
  newRows,
  originEvents,
  post,
  postCybavo,
  scriptOrigin,
  storedEvents,
  uniqueAccount,
} from "./support/gateway";
import { kits } from "./support/kits";
import { allRows } from "./support/ledger-sql";

type Detail = {
  id: string;
  state: string;
  reason: string | null;
  event: unknown;
  attempts: unknown[];
  headers: Record<string, string> | null;
  erasedAt: string | null;
};

const eventPath = (wallet: number, id: string) => `/sources/cybavo/accounts/${wallet}/events/${id}`;

/** Posts a fresh CYBAVO deposit for `wallet`; returns the callback and its event id. */
async function send(wallet: number) {
  const callback = cybavoCallback({ wallet_id: wallet });
  const before = await storedEvents("cybavo", String(wallet));
  expect((await postCybavo("cybavo", callback)).status).toBe(200);
  const [row] = newRows(before, await storedEvents("cybavo", String(wallet)));
  return { callback, id: row!.id };
}

/** Every row of the account's object, wherever it is (events or a partition), with whether a body is kept for it. */
function rowsOf(wallet: number) {
  return runInDurableObject(ledger("cybavo", String(wallet)), (_instance, state) => allRows(state.storage.sql));
}

/** The `events` row of one id, as stored (body, raw, signed, reason, indexed). */
function storedRow(source: string, account: string, id: string) {
  return runInDurableObject(
    ledger(source, account),
    (_instance, state) =>
      state.storage.sql
        .exec<{
          state: string;
          body: string | null;
          raw: ArrayBuffer | null;
          signed: string | null;
          reason: string | null;
          indexed: number;
        }>("SELECT state, body, raw, signed, reason, indexed FROM events WHERE id = ?", id)
        .toArray()[0],
  );
}

const ERASED = /^erased at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) by (.+)$/;

describe("erase an event's payload", () => {
  it("a delivered event: body gone, key kept, the provider's retry stays a duplicate, never delivered again", async () => {
    const wallet = uniqueAccount();
    const { callback, id } = await send(wallet);
    await drain("cybavo", String(wallet));
    expect((await originEvents(String(wallet))).map((e) => e.id)).toEqual([id]);
    const kept = await (await admin("GET", eventPath(wallet, id))).json<Detail>();
    expect([kept.erasedAt, kept.headers?.["content-type"]]).toEqual([null, "application/json"]);

    const started = Date.now();
    const response = await admin("POST", `${eventPath(wallet, id)}/erase`);
    expect(response.status).toBe(200);
    const body = await response.json<{ id: string; erasedAt: string }>();
    expect(body.id).toBe(id);
    expect(Date.parse(body.erasedAt)).toBeGreaterThanOrEqual(started);
    expect(Date.parse(body.erasedAt)).toBeLessThanOrEqual(Date.now());

    // Moved out of its partition into `events`, with no body anywhere; the key (id, seq, state) stays.
    const rows = (await rowsOf(wallet)).filter((r) => r.id === id);
    expect(rows.map((r) => [r.table, r.state, r.hasBody])).toEqual([["events", "delivered", 0]]);
    const stored = await storedRow("cybavo", String(wallet), id);
    expect(stored?.body).toBeNull();
    expect(stored?.reason).toBe(`erased at ${body.erasedAt} by token`);

    const detail = await (await admin("GET", eventPath(wallet, id))).json<Detail>();
    expect([detail.state, detail.event, detail.reason]).toEqual(["delivered", null, `erased at ${body.erasedAt} by token`]);
    expect([detail.erasedAt, detail.headers]).toEqual([body.erasedAt, null]);
    expect(detail.attempts).toHaveLength(1);

    // The provider sends the same callback again: acked as a duplicate, stored and delivered nowhere.
    expect((await postCybavo("cybavo", callback)).status).toBe(200);
    await drain("cybavo", String(wallet));
    expect((await storedEvents("cybavo", String(wallet))).map((r) => r.id)).toEqual([id]);
    expect((await originEvents(String(wallet))).map((e) => e.id)).toEqual([id]);

    // Neither redelivered nor replayed.
    const redeliver = await admin("POST", `${eventPath(wallet, id)}/redeliver`);
    expect([redeliver.status, await redeliver.json()]).toEqual([409, { error: "not_redeliverable" }]);
    const replay = await admin("POST", `/sources/cybavo/accounts/${wallet}/replay?since=0`);
    expect(await replay.json()).toEqual({ status: "queued", events: 0 });
    await drain("cybavo", String(wallet));
    expect((await originEvents(String(wallet))).map((e) => e.id)).toEqual([id]);

    // Erasing again changes nothing and answers the first erasure's time.
    const again = await admin("POST", `${eventPath(wallet, id)}/erase`);
    expect([again.status, await again.json()]).toEqual([200, body]);
  });

  it("a Coins TRANSACTION_STATUS_UPDATE, whose key is its whole data: the key becomes its digest, the retry stays a duplicate", async () => {
    const user = uniqueAccount();
    const kit = kits.find((k) => k.source === "coins-hmac")!;
    const orderId = `order-${user}-private`;
    const callback = {
      event: "TRANSACTION_STATUS_UPDATE",
      data: { userId: user, orderId, status: "SUCCESS", amount: "4321.98", currency: "PHP", remarks: `remark-${user}` },
    };
    const postIt = async () => {
      const signed = await kit.sign(callback);
      return post("coins-hmac", signed.body, signed.headers);
    };
    expect((await postIt()).status).toBe(200);
    await drain("coins-hmac", String(user));
    const [row] = await storedEvents("coins-hmac", String(user));
    const id = row!.id;
    const path = `/sources/coins-hmac/accounts/${user}/events/${id}`;
    const before = await (await admin("GET", path)).text();
    expect([before.includes(orderId), before.includes("4321.98"), before.includes(`remark-${user}`)]).toEqual([true, true, true]);
    // The key is the canonical data: the payload itself.
    const key = JSON.parse(before).idempotency_key as string;
    expect([key.startsWith("TRANSACTION_STATUS_UPDATE:{"), key.includes(orderId)]).toEqual([true, true]);

    expect((await admin("POST", `${path}/erase`)).status).toBe(200);
    const digest = toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key))));
    for (const text of [
      await (await admin("GET", path)).text(),
      await (await admin("GET", `/sources/coins-hmac/accounts/${user}/events`)).text(),
    ]) {
      expect([text.includes(orderId), text.includes("4321.98"), text.includes(`remark-${user}`), text.includes("userId")]).toEqual([
        false,
        false,
        false,
        false,
      ]);
      expect(text.includes(`"idempotency_key":"sha256:${digest}"`)).toBe(true);
    }
    // The provider's retry of the same callback: acked, a duplicate, never delivered again.
    expect((await postIt()).status).toBe(200);
    await drain("coins-hmac", String(user));
    expect((await storedEvents("coins-hmac", String(user))).map((r) => r.id)).toEqual([id]);
    expect((await originEvents(String(user))).map((e) => e.id)).toEqual([id]);
  });

  it("the operators' index forgets what it copied from the payload: amount, currency and references", async () => {
    const wallet = uniqueAccount();
    const { id } = await send(wallet);
    await drain("cybavo", String(wallet));
    // The event's index row with what the index copies from a payload, one more reference added
    // here (so the test does not depend on whether the account's index feed has run yet).
    const ref = `0x${id.slice(4)}`;
    await env.INDEX_DB.batch([
      env.INDEX_DB.prepare(
        `INSERT INTO events (id, source, account, seq, type, status, amount, currency, refs, received_at, attempts, indexed_at)
         VALUES (?1, 'cybavo', ?2, 1, 'deposit.updated', 'delivered', '1.50', 'USDT', json_array(?3), ?4, 1, ?4)
         ON CONFLICT (id) DO UPDATE SET amount = '1.50', currency = 'USDT', refs = json_insert(events.refs, '$[#]', ?3)`,
      ).bind(id, String(wallet), ref, Date.now()),
      env.INDEX_DB.prepare("INSERT OR IGNORE INTO refs (ref, id) VALUES (?, ?)").bind(ref, id),
    ]);
    const search = async () =>
      (await (await admin("GET", `/events?q=${ref}`)).json<{ events: { id: string }[] }>()).events.map((e) => e.id);
    expect(await search()).toEqual([id]);

    expect((await admin("POST", `${eventPath(wallet, id)}/erase`)).status).toBe(200);
    const indexed = () =>
      env.INDEX_DB.prepare("SELECT amount, currency, refs, (SELECT count(*) FROM refs WHERE id = ?1) AS refRows FROM events WHERE id = ?1")
        .bind(id)
        .first();
    expect(await indexed()).toEqual({ amount: null, currency: null, refs: "[]", refRows: 0 });
    expect(await search()).toEqual([]);
    // The account's index feed writes the row again afterwards: what was cleared stays cleared.
    await drain("cybavo", String(wallet));
    expect(await indexed()).toEqual({ amount: null, currency: null, refs: "[]", refRows: 0 });
  });

  it("an index batch read before the erasure and landing after the route's clean-up: the feed's next batch clears it again", async () => {
    const wallet = uniqueAccount();
    const { id } = await send(wallet);
    await drain("cybavo", String(wallet));
    const indexed = () =>
      env.INDEX_DB.prepare("SELECT amount, currency, refs, (SELECT count(*) FROM refs WHERE id = ?1) AS refRows FROM events WHERE id = ?1")
        .bind(id)
        .first<{ amount: string | null; currency: string | null; refs: string; refRows: number }>();
    // What the account's feed wrote while the payload was there.
    const before = await indexed();
    expect(before?.amount).not.toBeNull();
    expect(before?.refRows).toBeGreaterThan(0);
    expect((await admin("POST", `${eventPath(wallet, id)}/erase`)).status).toBe(200);
    expect(await indexed()).toEqual({ amount: null, currency: null, refs: "[]", refRows: 0 });
    // The late batch: the row and references exactly as the feed had sent them, put back.
    const refs = JSON.parse(before!.refs) as string[];
    await env.INDEX_DB.batch([
      env.INDEX_DB.prepare("UPDATE events SET amount = ?2, currency = ?3, refs = ?4 WHERE id = ?1").bind(
        id,
        before!.amount,
        before!.currency,
        before!.refs,
      ),
      ...refs.map((ref) => env.INDEX_DB.prepare("INSERT OR IGNORE INTO refs (ref, id) VALUES (?, ?)").bind(ref, id)),
    ]);
    expect((await indexed())?.refRows).toBe(refs.length);
    // The erasure marked the row to be sent again: the feed's batch for it clears the copies.
    await drain("cybavo", String(wallet));
    expect(await indexed()).toEqual({ amount: null, currency: null, refs: "[]", refRows: 0 });
  });

  it("a dead letter: erased, and can no longer be redelivered", async () => {
    const wallet = uniqueAccount();
    await scriptOrigin(String(wallet), [410]);
    const { id } = await send(wallet);
    await drain("cybavo", String(wallet));
    expect((await storedRow("cybavo", String(wallet), id))?.state).toBe("dead");

    const response = await admin("POST", `${eventPath(wallet, id)}/erase`);
    expect(response.status).toBe(200);
    const stored = await storedRow("cybavo", String(wallet), id);
    expect([stored?.state, stored?.body, stored?.reason]).toEqual(["dead", null, expect.stringMatching(ERASED)]);
    // The failed attempt keeps its error: the history says why it died.
    const detail = await (await admin("GET", eventPath(wallet, id))).json<{ attempts: { error: string }[] }>();
    expect(detail.attempts.map((a) => a.error)).toEqual(["HTTP 410"]);
    expect((await admin("POST", `${eventPath(wallet, id)}/redeliver`)).status).toBe(409);
    await drain("cybavo", String(wallet));
    expect(await originEvents(String(wallet))).toEqual([]);
  });

  it("a pending event is not erasable (409): it would change what is delivered", async () => {
    const wallet = uniqueAccount();
    await scriptOrigin(String(wallet), [503]);
    const { id } = await send(wallet);
    await runAlarmNow(ledger("cybavo", String(wallet)));
    expect((await storedEvents("cybavo", String(wallet))).map((r) => [r.id, r.state, r.attempts])).toEqual([[id, "pending", 1]]);

    const response = await admin("POST", `${eventPath(wallet, id)}/erase`);
    expect([response.status, await response.json()]).toEqual([409, { error: "not_erasable" }]);
    await drain("cybavo", String(wallet));
    const delivered = await originEvents(String(wallet));
    expect(delivered.map((e) => [e.id, e.json.subject])).toEqual([[id, String(wallet)]]);
  });

  it("404 for an unknown event, account or source", async () => {
    const wallet = uniqueAccount();
    const { id } = await send(wallet);
    await drain("cybavo", String(wallet));
    expect((await admin("POST", `${eventPath(wallet, "evt_00000000000000000000000000000000")}/erase`)).status).toBe(404);
    expect((await admin("POST", `${eventPath(wallet + 1, id)}/erase`)).status).toBe(404);
    expect((await admin("POST", `/sources/nope/accounts/${wallet}/events/${id}/erase`)).status).toBe(404);
    expect((await admin("POST", "/sources/cybavo/quarantine/evt_00000000000000000000000000000000/erase")).status).toBe(404);
  });

  it("a quarantined callback: bytes and signed fields gone, the same callback again is a duplicate, re-processing skips it", async () => {
    const wallet = uniqueAccount();
    const callback = cybavoCallback({ wallet_id: wallet, state: 42 });
    const before = await storedEvents("cybavo", QUARANTINE_ACCOUNT);
    expect((await postCybavo("cybavo", callback)).status).toBe(200);
    const [added] = newRows(before, await storedEvents("cybavo", QUARANTINE_ACCOUNT));
    expect(added?.reason).toBe("unmapped: state 42");
    const id = added!.id;

    const response = await admin("POST", `/sources/cybavo/quarantine/${id}/erase`);
    expect(response.status).toBe(200);
    const { erasedAt } = await response.json<{ id: string; erasedAt: string }>();
    const stored = await storedRow("cybavo", QUARANTINE_ACCOUNT, id);
    expect([stored?.state, stored?.raw, stored?.signed, stored?.body, stored?.reason]).toEqual([
      "quarantined",
      null,
      null,
      null,
      `erased at ${erasedAt} by token`,
    ]);
    const detail = await (await admin("GET", `/sources/cybavo/quarantine/${id}`)).json<{
      rawBase64: string | null;
      headers: unknown;
      erasedAt: string | null;
    }>();
    expect([detail.rawBase64, detail.headers, detail.erasedAt]).toEqual([null, null, erasedAt]);

    // The same bytes again: still one quarantine row, nothing new to re-process.
    expect((await postCybavo("cybavo", callback)).status).toBe(200);
    expect(newRows(before, await storedEvents("cybavo", QUARANTINE_ACCOUNT)).map((r) => r.id)).toEqual([id]);
    const reprocessed = await (await admin("POST", "/sources/cybavo/quarantine/reprocess?limit=500")).json<{ results: { id: string }[] }>();
    expect(reprocessed.results.map((r) => r.id)).not.toContain(id);
  });
});
