/** The operator API (docs/operations.md) and the promise that no secret ever leaks out. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { QUARANTINE_ACCOUNT } from "../src/ingress";
import { cybavo } from "../src/providers/cybavo";
import type { Provider } from "../src/providers/provider";
import {
  admin,
  cybavoCallback,
  cybavoChecksum,
  drain,
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
  it("lists an account's events with their CloudEvents, and counts per source", async () => {
    const wallet = uniqueAccount();
    const callback = cybavoCallback({ wallet_id: wallet });
    await postCybavo("cybavo", callback);
    await postCybavo("cybavo", callback); // a provider retry: the edge cache learns the event
    await postCybavo("cybavo", cybavoCallback({ wallet_id: wallet }), "wrong-secret");
    await drain("cybavo", String(wallet));
    const list = await (await admin("GET", `/sources/cybavo/accounts/${wallet}/events?limit=10`)).json<{
      events: { state: string; event: { subject: string } }[];
    }>();
    expect(list.events).toHaveLength(1);
    expect(list.events[0]).toMatchObject({ state: "delivered", event: { subject: String(wallet) } });
    const counters = await (await admin("GET", "/sources/cybavo/counters")).json<{ counters: Record<string, number> }>();
    expect(counters.counters.accepted).toBeGreaterThan(0);
    expect(counters.counters.rejected).toBeGreaterThan(0);
    expect(counters.counters.delivered).toBeGreaterThan(0);
    // The billable operations behind them (docs/benchmarks.md prices these).
    for (const name of ["do_requests", "alarms", "sql_rows_read", "sql_rows_written", "kv_reads", "kv_writes", "subrequests"]) {
      expect(counters.counters[name], name).toBeGreaterThan(0);
    }
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
    expect((await postCybavo("cybavo", callback)).status).toBe(200);
    const rows = (await storedEvents("cybavo", QUARANTINE_ACCOUNT)).filter((r) => r.reason === "unmapped: state 42");
    expect(rows.length).toBeGreaterThan(0);
    await drain("cybavo", QUARANTINE_ACCOUNT);
    const listed = await (await admin("GET", "/quarantine?source=cybavo")).json<{ entries: { id: string; reason: string }[] }>();
    expect(listed.entries.map((e) => e.reason)).toContain("unmapped: state 42");

    // "Upgrade" the adapter: state 42 now means processing.
    (cybavo as { normalize: Provider["normalize"] }).normalize = (payload, text) => {
      const p = payload as { state: number };
      return original(p.state === 42 ? ({ ...p, state: 1 } as never) : (payload as never), text);
    };
    const first = await (await admin("POST", "/sources/cybavo/quarantine/reprocess")).json<{
      results: { outcome: string; account?: string }[];
    }>();
    expect(first.results.filter((r) => r.account === String(wallet)).map((r) => r.outcome)).toEqual(["accepted"]);
    const again = await (await admin("POST", "/sources/cybavo/quarantine/reprocess")).json<{ results: { account?: string }[] }>();
    expect(again.results.filter((r) => r.account === String(wallet))).toEqual([]);
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
    expect(lines.length).toBeGreaterThan(0);
    const everything = [...lines, ...bodies].join("\n");
    const values = Object.values(secrets).flatMap((s) => (s.startsWith("whsec_") ? [s, s.slice(6)] : [s]));
    for (const value of values) expect(everything).not.toContain(value);
  });
});
