/**
 * The operators' index end to end: signed CYBAVO callbacks through the Worker, delivered (or
 * dead-lettered) by the account's alarm to the real origin, written to the real local D1 by the
 * account object, then found through the admin routes (src/admin/index-routes.ts): search by
 * event id and by the provider's references, the dead-letter list, the count, the account's
 * row, the index state; and a redelivered dead letter leaves the list.
 */
import { describe, expect, it } from "vitest";
import type { IndexRow } from "../src/index-db/filter";
import { admin, cybavoCallback, drain, originEvents, postCybavo, scriptOrigin, storedEvents, uniqueAccount } from "./support/gateway";

async function get<T>(path: string): Promise<T> {
  const response = await admin("GET", path);
  expect(response.status, path).toBe(200);
  return response.json<T>();
}

const ids = async (query: string) => (await get<{ events: IndexRow[] }>(`/events?${query}`)).events.map((e) => e.id);

describe("ingest → alarm → index → admin routes", () => {
  it("finds each event by id and by reference, lists the dead letter, counts, and drops it from the list once redelivered", async () => {
    const wallet = uniqueAccount();
    const account = String(wallet);
    await scriptOrigin(account, [410]);
    const dead = cybavoCallback({ wallet_id: wallet, txid: `0xdead${wallet}` });
    const delivered = cybavoCallback({ wallet_id: wallet, txid: `0xfeed${wallet}` });
    expect((await postCybavo("cybavo", dead)).status).toBe(200);
    expect((await postCybavo("cybavo", delivered)).status).toBe(200);
    await drain("cybavo", account);

    const stored = await storedEvents("cybavo", account);
    expect(stored.map((row) => row.state)).toEqual(["dead", "delivered"]);
    const [deadRow, deliveredRow] = stored as [(typeof stored)[0], (typeof stored)[0]];
    const newestFirst = [...stored].sort((a, b) => b.received_at - a.received_at || (a.id < b.id ? 1 : -1)).map((row) => row.id);

    expect(await ids(`source=cybavo&account=${account}`)).toEqual(newestFirst);
    expect(await ids(`q=${deadRow.id}`)).toEqual([deadRow.id]);
    expect(await ids(`q=${dead.serial}`)).toEqual([deadRow.id]);
    expect(await ids(`q=0xfeed${wallet}`)).toEqual([deliveredRow.id]);
    expect(await ids(`q=0xfeed${wallet}&status=dead`)).toEqual([]);
    expect(await get(`/events/count?source=cybavo&account=${account}&status=delivered`)).toEqual({ count: 1 });

    const [row] = (await get<{ events: IndexRow[] }>(`/events?q=${deadRow.id}`)).events;
    expect(row).toEqual(
      expect.objectContaining({
        id: deadRow.id,
        source: "cybavo",
        account,
        seq: deadRow.seq,
        type: deadRow.type,
        status: "dead",
        refs: [`0xdead${wallet}`, String(dead.serial)].sort(),
        receivedAt: new Date(deadRow.received_at).toISOString(),
        attempts: 1,
        lastStatus: 410,
        reason: "HTTP 410",
      }),
    );

    expect(await get(`/dead-letters?source=cybavo&account=${account}`)).toEqual({
      entries: [{ source: "cybavo", account, id: deadRow.id, reason: "HTTP 410", at: deadRow.received_at }],
    });
    const accounts = await get<{ accounts: { account: string; pending: number }[] }>(`/accounts?source=cybavo&limit=1000`);
    expect(accounts.accounts.filter((a) => a.account === account)).toEqual([expect.objectContaining({ account, pending: 0 })]);
    const state = await get<{ mode: string; updatedAt: string | null }>("/index");
    expect(state.mode).toBe("all");
    expect(state.updatedAt).not.toBeNull();

    // Redeliver the dead letter: the origin now answers 200; the list no longer shows it.
    expect((await admin("POST", `/sources/cybavo/accounts/${account}/events/${deadRow.id}/redeliver`)).status).toBe(202);
    await drain("cybavo", account);
    expect((await originEvents(account)).map((e) => e.id)).toEqual([deliveredRow.id, deadRow.id]);
    expect(await get(`/dead-letters?source=cybavo&account=${account}`)).toEqual({ entries: [] });
    expect((await get<{ events: IndexRow[] }>(`/events?q=${dead.serial}`)).events.map((e) => e.status)).toEqual(["delivered"]);
  });
});
