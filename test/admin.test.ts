/** The operator API (docs/operations.md) and the promise that no secret ever leaks out. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { QUARANTINE_ACCOUNT } from "../src/ingress";
import { forgetIsolateCache } from "../src/isolate-cache";
import { forgetLogWindows } from "../src/log-throttle";
import { provider as cybavo } from "../src/providers/cybavo";
import type { Provider } from "../src/providers/provider";
import {
  admin,
  counterDeltas,
  cybavoCallback,
  cybavoChecksum,
  deliveredByOwnAlarm,
  drain,
  newRows,
  originEvents,
  post,
  postCybavo,
  secrets,
  storedEvents,
  uniqueAccount,
} from "./support/gateway";
import { kits } from "./support/kits";

describe("authentication", () => {
  it.each([
    ["GET", "/counters"],
    ["GET", "/dead-letters"],
    ["GET", "/quarantine"],
    ["GET", "/sources/cybavo/accounts/1/events"],
    ["POST", "/sources/cybavo/accounts/1/events/evt_x/redeliver"],
    ["POST", "/sources/cybavo/quarantine/reprocess"],
    ["GET", "/nope"],
  ])("%s %s without a token or with a wrong one → 401", async (method, path) => {
    for (const token of [null, "", "wrong", `${secrets.ADMIN_TOKEN}x`, secrets.ADMIN_TOKEN.slice(0, -1)]) {
      const response = await admin(method, path, token);
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: "unauthorized" });
    }
  });

  it("the right token is accepted", async () => {
    expect((await admin("GET", "/counters")).status).toBe(200);
    expect((await admin("GET", "/nope")).status).toBe(404);
    expect((await admin("GET", "/sources/nope/accounts/1/events")).status).toBe(404);
    expect((await admin("POST", "/sources/cybavo/accounts/1/replay")).status).toBe(400);
  });
});

describe("inspection", () => {
  it("lists an account's events with their CloudEvents, and counts exactly what happened per source", async () => {
    forgetIsolateCache(); // no earlier test's retries make this one read KV
    const wallet = uniqueAccount();
    const callback = cybavoCallback({ wallet_id: wallet });
    const readCounters = async () =>
      (await (await admin("GET", "/sources/cybavo/counters")).json<{ counters: Record<string, number> }>()).counters;
    const deltas = await counterDeltas(
      "cybavo",
      async () => {
        expect((await postCybavo("cybavo", callback)).status).toBe(200);
        // A provider retry, answered by this isolate's memory of the claim: no KV, no DO.
        expect((await postCybavo("cybavo", callback)).status).toBe(200);
        expect((await postCybavo("cybavo", cybavoCallback({ wallet_id: wallet }), "wrong-secret")).status).toBe(401);
        // Delivered by the alarm the claim scheduled (one run), not by one the test forces.
        await deliveredByOwnAlarm("cybavo", String(wallet));
      },
      readCounters,
    );
    const list = await (await admin("GET", `/sources/cybavo/accounts/${wallet}/events?limit=10`)).json<{
      events: { state: string; event: { subject: string } }[];
    }>();
    expect(list.events).toHaveLength(1);
    expect(list.events[0]).toMatchObject({ state: "delivered", event: { subject: String(wallet) } });
    expect(deltas).toEqual({
      accepted: 1,
      duplicate: 1,
      rejected: 1,
      delivered: 1,
      // The billable operations behind them (docs/benchmarks.md prices these): the claim and
      // the one counters flush are Durable Object requests; KV is neither read (the source is
      // not being retried: src/isolate-cache.ts) nor written (no DO duplicate); one alarm run,
      // one origin request.
      do_requests: 2,
      alarms: 1,
      subrequests: 1,
      // The alarm run's one take and one report to its destination's object.
      destination_requests: 2,
      // The run's one batch to the operators' D1 index: the event's row and its `events_by_time`
      // entry (2), its references, serial and txid (2), and the account's row (1).
      d1_rows_written: 5,
      sql_rows_read: expect.any(Number),
      sql_rows_written: expect.any(Number),
    });
    // SQLite rows depend on the queries and indexes; at least the claim's insert and the
    // delivery's update are written, and the claims read the events table.
    expect(deltas.sql_rows_written).toBeGreaterThanOrEqual(2);
    expect(deltas.sql_rows_read).toBeGreaterThanOrEqual(2);
  });
});

describe("quarantine", () => {
  const original = cybavo.normalize;
  afterEach(() => {
    (cybavo as { normalize: Provider["normalize"] }).normalize = original as Provider["normalize"];
  });

  it("is listed across accounts, and re-processed after the adapter learns the shape → delivered once", async () => {
    const wallet = uniqueAccount();
    const callback = cybavoCallback({ wallet_id: wallet, state: 42 });
    const before = await storedEvents("cybavo", QUARANTINE_ACCOUNT);
    expect((await postCybavo("cybavo", callback)).status).toBe(200);
    const added = newRows(before, await storedEvents("cybavo", QUARANTINE_ACCOUNT));
    expect(added).toEqual([expect.objectContaining({ state: "quarantined", reason: "unmapped: state 42" })]);
    const quarantined = added[0]!.id;
    await drain("cybavo", QUARANTINE_ACCOUNT);
    const listQuarantine = async () =>
      (await (await admin("GET", "/quarantine?source=cybavo")).json<{ entries: { id: string; reason: string }[] }>()).entries;
    expect((await listQuarantine()).filter((e) => e.id === quarantined)).toEqual([
      expect.objectContaining({ source: "cybavo", reason: "unmapped: state 42" }),
    ]);

    // "Upgrade" the adapter: state 42 now means processing.
    (cybavo as { normalize: Provider["normalize"] }).normalize = (payload, text) => {
      const p = payload as { state: number };
      return original(p.state === 42 ? ({ ...p, state: 1 } as never) : (payload as never), text);
    };
    const first = await (await admin("POST", "/sources/cybavo/quarantine/reprocess")).json<{
      results: { id: string; outcome: string; account?: string }[];
    }>();
    expect(first.results.filter((r) => r.id === quarantined)).toEqual([
      expect.objectContaining({ outcome: "accepted", account: String(wallet) }),
    ]);
    // It left the quarantine: not re-processed again, not listed, its row marked.
    const again = await (await admin("POST", "/sources/cybavo/quarantine/reprocess")).json<{ results: { id: string }[] }>();
    expect(again.results.map((r) => r.id)).not.toContain(quarantined);
    expect((await listQuarantine()).map((e) => e.id)).not.toContain(quarantined);
    expect((await storedEvents("cybavo", QUARANTINE_ACCOUNT)).find((r) => r.id === quarantined)?.state).toBe("reprocessed");
    await drain("cybavo", String(wallet));
    const received = await originEvents(String(wallet));
    expect(received).toHaveLength(1);
    expect(received[0]?.json.data.payload).toEqual(callback);
  });
});

describe("secrets stay secret", () => {
  it("no response or log line contains any configured secret", async () => {
    const lines: string[] = [];
    const spies = (["log", "info", "warn", "error", "debug"] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(" "));
      }),
    );
    const bodies: string[] = [];
    const keep = async (response: Response) => {
      bodies.push(await response.text(), JSON.stringify([...response.headers]));
    };
    try {
      const wallet = uniqueAccount();
      const body = JSON.stringify(cybavoCallback({ wallet_id: wallet }));
      await keep(await post("cybavo", body, { "X-CHECKSUM": await cybavoChecksum(body) }));
      await keep(await post("cybavo", body, { "X-CHECKSUM": await cybavoChecksum(body, "wrong") }));
      for (const kit of kits) {
        const signed = await kit.sign({ event: "X", probe: wallet });
        await keep(await post(kit.source, signed.body, signed.headers));
        const wrong = await kit.sign({ event: "X" }, { wrongSecret: true });
        // Its line is written (the first rejection of its source and reason in a window: src/log-throttle.ts).
        forgetLogWindows();
        await keep(await post(kit.source, wrong.body, wrong.headers));
      }
      await drain("cybavo", String(wallet));
      for (const path of ["/counters", "/dead-letters", "/quarantine", `/sources/cybavo/accounts/${wallet}/events`])
        await keep(await admin("GET", path));
      await keep(await admin("GET", "/counters", "wrong"));
      const { call } = await import("./support/gateway");
      await keep(await call(new Request("https://gateway.test/healthz")));
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    // Every request above wrote its log line, so the check below read all that could leak.
    const messages = lines.flatMap((line) => {
      try {
        return [(JSON.parse(line) as { msg?: unknown }).msg];
      } catch {
        return [];
      }
    });
    expect(messages.filter((m) => m === "ingress")).toHaveLength(2 + 2 * kits.length);
    expect(messages.filter((m) => m === "admin")).toHaveLength(5);
    const everything = [...lines, ...bodies].join("\n");
    const values = Object.values(secrets).flatMap((s) => (s.startsWith("whsec_") ? [s, s.slice(6)] : [s]));
    for (const value of values) expect(everything).not.toContain(value);
  });
});
