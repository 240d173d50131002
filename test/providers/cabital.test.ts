import { describe, expect, it } from "vitest";
import { QUARANTINE_ACCOUNT } from "../../src/ingress";
import { CABITAL_STATUS, provider as cabital } from "../../src/providers/cabital";
import { hmacSha256, toBase64, utf8 } from "../../src/verify/crypto";
import { drain, newRows, originEvents, post, quarantinedText, storedEvents } from "../support/gateway";
import { cabitalHeaders } from "../support/kits";
import { TEST_SECRETS } from "../support/test-config";

function link(account: string, status: string, eventTime: string, field = "status") {
  return JSON.stringify({ account_uuid: account, user_ext_ref: "ext-1", [field]: status, event_time: eventTime, data: {} });
}

async function send(body: string, now = Date.now()) {
  const headers = await cabitalHeaders(body, TEST_SECRETS.CABITAL_SECRET, now);
  return { response: await post("cabital", body, headers), headers };
}

describe("Cabital", () => {
  it("accepts the legacy no-separator layout only behind its option, and a configured signed path", async () => {
    const body = link("acc-legacy", "PENDING", "2020-07-01T09:00:00.000Z");
    const now = Date.now();
    const timestamp = String(Math.floor(now / 1000));
    const sign = async (text: string) => toBase64(await hmacSha256(utf8(TEST_SECRETS.CABITAL_SECRET), utf8(text)));
    const request = (signature: string) => ({
      body: utf8(body),
      headers: new Headers({ "ACCESS-KEY": "k", "ACCESS-TIMESTAMP": timestamp, "ACCESS-NONCE": "n1", "ACCESS-SIGN": signature }),
      method: "POST",
      url: "https://gateway.test/internal/cabital-hook",
      now,
    });
    const options = (layout: "newline" | "legacy-concat") => ({ toleranceSeconds: 300, layout, signedPath: "/public/cabital" });
    const keys = (layout: "newline" | "legacy-concat") => ({
      secrets: [TEST_SECRETS.CABITAL_SECRET],
      named: new Map(),
      options: options(layout),
    });
    const legacy = await sign(`${timestamp}POSTn1/public/cabital${body}`);
    const current = await sign(`${timestamp}\nPOST\nn1\n/public/cabital\n${body}`);
    expect(await cabital.verify(request(legacy), keys("legacy-concat"))).toMatchObject({ ok: true });
    expect(await cabital.verify(request(legacy), keys("newline"))).toMatchObject({ ok: false });
    expect(await cabital.verify(request(current), keys("newline"))).toMatchObject({ ok: true });
    expect(
      await cabital.verify(request(current), { ...keys("newline"), options: { toleranceSeconds: 300, layout: "newline" } }),
    ).toMatchObject({ ok: false });
  });

  it("refuses a replayed nonce inside 60 minutes, even for a request it accepted", async () => {
    const account = crypto.randomUUID();
    const body = link(account, "INITIALIZED", "2020-07-01T09:00:00.000Z");
    const { response, headers } = await send(body);
    expect(response.status).toBe(200);
    const replay = await post("cabital", body, headers);
    expect(replay.status).toBe(401);
    expect(await replay.json()).toEqual({ error: "unauthorized" });
  });

  it("a provider retry (same event, fresh nonce and timestamp) is acked and not delivered twice", async () => {
    const account = crypto.randomUUID();
    const body = link(account, "PENDING", "2020-07-01T09:05:00.000Z");
    expect((await send(body)).response.status).toBe(200);
    const retry = await send(body, Date.now() + 1000);
    expect(retry.response.status).toBe(200);
    expect(await retry.response.text()).toBe('{"received":true}');
    await drain("cabital", account);
    expect(await originEvents(account)).toHaveLength(1);
    expect(await storedEvents("cabital", account)).toHaveLength(1);
  });

  it("MATCHED → UNLINKED → INITIALIZED → CREATED arrives in that order (an unlink, then a reconnect)", async () => {
    const account = crypto.randomUUID();
    const steps = ["MATCHED", "UNLINKED", "INITIALIZED", "CREATED"];
    for (const [i, status] of steps.entries()) {
      expect((await send(link(account, status, `2020-07-0${i + 1}T09:00:00.000Z`))).response.status).toBe(200);
    }
    await drain("cabital", account);
    const received = (await originEvents(account)).map((e) => [e.json.data.providerStatus, e.json.data.status]);
    expect(received).toEqual([
      ["MATCHED", "active"],
      ["UNLINKED", "closed"],
      ["INITIALIZED", "pending"],
      ["CREATED", "action_required"],
    ]);
  });

  it("maps every documented link status, spelled `status` or `staus`", async () => {
    // The mapping as docs/providers/cabital.md states it, written out here: expectations taken
    // from the adapter's own table would pass whatever that table says.
    const documented = {
      INITIALIZED: "pending",
      PENDING: "pending",
      TEMPORARY_REJECTED: "action_required",
      FINAL_REJECTED: "rejected",
      CREATED: "action_required",
      MATCHING: "pending",
      MATCHED: "active",
      MISMATCHED: "action_required",
      LINKED: "active",
      UNLINKED: "closed",
    };
    expect(Object.keys(CABITAL_STATUS).sort()).toEqual(Object.keys(documented).sort());
    const account = crypto.randomUUID();
    const entries = Object.entries(documented);
    for (const [i, [status]] of entries.entries()) {
      const body = link(account, status, new Date(Date.UTC(2021, 0, 1, 0, i)).toISOString(), i % 2 === 0 ? "status" : "staus");
      expect((await send(body)).response.status).toBe(200);
    }
    await drain("cabital", account);
    const received = (await originEvents(account)).map((e) => [e.json.data.providerStatus, e.json.data.status]);
    expect(received).toEqual(entries);
    expect((await originEvents(account))[0]?.json.data).toMatchObject({ externalId: "ext-1", eventTime: "2021-01-01T00:00:00.000Z" });
  });

  it("a replay with a changed ACCESS-KEY (unsigned) is still a replay", async () => {
    const body = link(crypto.randomUUID(), "PENDING", "2020-07-01T09:00:00.000Z");
    const { response, headers } = await send(body);
    expect(response.status).toBe(200);
    expect((await post("cabital", body, { ...headers, "ACCESS-KEY": "another-key" })).status).toBe(401);
  });

  it("quarantines an event_time it cannot read instead of failing", async () => {
    const account = crypto.randomUUID();
    const body = link(account, "PENDING", "2020-07-01T09:00:00+01");
    const before = await storedEvents("cabital", QUARANTINE_ACCOUNT);
    const { response } = await send(body);
    expect(response.status).toBe(200);
    expect(await storedEvents("cabital", account)).toEqual([]);
    // Kept, not dropped: one quarantine entry holding the bytes received.
    const added = newRows(before, await storedEvents("cabital", QUARANTINE_ACCOUNT));
    expect(added).toEqual([expect.objectContaining({ state: "quarantined", reason: expect.stringContaining("event_time") })]);
    expect(await quarantinedText("cabital", added[0]!.id)).toBe(body);
  });

  it("refuses a timestamp outside the window, either way", async () => {
    const body = link(crypto.randomUUID(), "PENDING", "2020-07-01T09:00:00.000Z");
    expect((await send(body, Date.now() - 301_000)).response.status).toBe(401);
    expect((await send(body, Date.now() + 301_000)).response.status).toBe(401);
    expect((await send(body, Date.now() - 290_000)).response.status).toBe(200);
  });
});
