/**
 * The guard a bulk job passes to AccountLedger.redeliver (src/ledger/requeue.ts): an event is
 * put back only if nothing has happened to it since the job was created, so the job's second
 * call for the same event (its run died between the ledger call and its cursor write) is
 * "skipped" and the event is delivered once (docs/guarantees.md "Bulk jobs").
 */
import { describe, expect, it } from "vitest";
import { runAlarmNow } from "./support/alarms";
import {
  cybavoCallback,
  drain,
  ledger,
  newRows,
  originEvents,
  postCybavo,
  scriptOrigin,
  storedEvents,
  uniqueAccount,
} from "./support/gateway";

async function send(wallet: number): Promise<string> {
  const before = await storedEvents("cybavo", String(wallet));
  expect((await postCybavo("cybavo", cybavoCallback({ wallet_id: wallet }))).status).toBe(200);
  return newRows(before, await storedEvents("cybavo", String(wallet)))[0]!.id;
}

/** A moment strictly after everything that happened so far. */
async function mark(): Promise<number> {
  const at = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 2));
  return at + 1;
}

const delivered = async (wallet: number) => (await originEvents(String(wallet))).map((e) => e.id);

describe("redeliver with unlessTouchedSince", () => {
  it("a dead letter untouched since: put back once; the same call again is skipped, while pending and once delivered", async () => {
    const wallet = uniqueAccount();
    await scriptOrigin(String(wallet), [410]);
    const id = await send(wallet);
    await drain("cybavo", String(wallet));
    const since = await mark();
    const stub = ledger("cybavo", String(wallet));

    expect(await stub.redeliver(id, { unlessTouchedSince: since })).toBe("queued");
    expect(await stub.redeliver(id, { unlessTouchedSince: since })).toBe("skipped");
    await drain("cybavo", String(wallet));
    expect(await stub.redeliver(id, { unlessTouchedSince: since })).toBe("skipped");
    await drain("cybavo", String(wallet));
    expect(await delivered(wallet)).toEqual([id]);
    // Without a guard, an operator's redeliver still sends it again.
    expect(await stub.redeliver(id)).toBe("queued");
    await drain("cybavo", String(wallet));
    expect(await delivered(wallet)).toEqual([id, id]);
  });

  it("a failed attempt since the mark counts as touched (the event is dead again)", async () => {
    const wallet = uniqueAccount();
    await scriptOrigin(String(wallet), [410, 410]);
    const id = await send(wallet);
    await drain("cybavo", String(wallet));
    const since = await mark();
    const stub = ledger("cybavo", String(wallet));
    expect(await stub.redeliver(id, { unlessTouchedSince: since })).toBe("queued");
    await drain("cybavo", String(wallet));
    expect((await storedEvents("cybavo", String(wallet))).map((r) => [r.state, r.attempts])).toEqual([["dead", 2]]);
    expect(await stub.redeliver(id, { unlessTouchedSince: since })).toBe("skipped");
    expect((await storedEvents("cybavo", String(wallet))).map((r) => r.state)).toEqual(["dead"]);
  });

  it("a delivered event (in its partition) is sent again once; touched by an operator after the mark, it is skipped", async () => {
    const wallet = uniqueAccount();
    const [first, second] = [await send(wallet), await send(wallet)];
    await drain("cybavo", String(wallet));
    const since = await mark();
    const stub = ledger("cybavo", String(wallet));
    expect(await stub.redeliver(first!, { unlessTouchedSince: since })).toBe("queued");
    expect(await stub.redeliver(second!)).toBe("queued");
    await drain("cybavo", String(wallet));
    expect(await stub.redeliver(first!, { unlessTouchedSince: since })).toBe("skipped");
    expect(await stub.redeliver(second!, { unlessTouchedSince: since })).toBe("skipped");
    await drain("cybavo", String(wallet));
    expect(await delivered(wallet)).toEqual([first, second, first, second]);
  });

  it("a pending event is skipped: it is going out anyway", async () => {
    const wallet = uniqueAccount();
    await scriptOrigin(String(wallet), [503]);
    const id = await send(wallet);
    await runAlarmNow(ledger("cybavo", String(wallet)));
    expect(await ledger("cybavo", String(wallet)).redeliver(id, { unlessTouchedSince: 0 })).toBe("skipped");
    await drain("cybavo", String(wallet));
    expect(await delivered(wallet)).toEqual([id]);
  });

  it("with `state`, an event no longer in that state is skipped (the index saw it dead; it was delivered since)", async () => {
    const wallet = uniqueAccount();
    const id = await send(wallet);
    await drain("cybavo", String(wallet));
    const stub = ledger("cybavo", String(wallet));
    expect(await stub.redeliver(id, { unlessTouchedSince: await mark(), state: "dead" })).toBe("skipped");
    expect(await stub.redeliver(id, { unlessTouchedSince: await mark(), state: "delivered" })).toBe("queued");
  });
});
