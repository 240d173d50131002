/**
 * The origin protection routes of the operator API (docs/operations.md "Origin protection",
 * "Pause and resume"): the destinations list and detail with the URL shown without credentials,
 * 404 for what is not configured, pause and resume of a source (its destination object) and of
 * an account (its ledger object) with `changed`, the read role refused every change, and each
 * change logged with who made it. Against the real Destination and AccountLedger objects.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { presentDestinationDetail } from "../src/admin/destination-view";
import { loadConfig } from "../src/config";
import type { DestinationStatus } from "../src/destination/contract";
import { redactedUrl, scrubbed } from "../src/redact-url";
import { admin, call, captureLogs, secrets, uniqueAccount } from "./support/gateway";

const GATEWAY = "https://gateway.test";
const READ_TOKEN = "test-read-token-0123456789";
/** The test bindings plus a read-only token (one object, so the parsed configuration is cached). */
const withRead = { ...env, ADMIN_READ_TOKEN: READ_TOKEN } as Env;

function config(bindings: Env = env) {
  const loaded = loadConfig(bindings);
  if (!loaded.ok) throw new Error(loaded.errors.join("; "));
  return loaded.config;
}

function request(method: string, path: string, token: string, bindings: Env = env): Promise<Response> {
  return call(new Request(`${GATEWAY}/admin${path}`, { method, headers: { authorization: `Bearer ${token}` } }), bindings);
}

async function json<T = Record<string, unknown>>(response: Response): Promise<[number, T]> {
  return [response.status, (await response.json()) as T];
}

type Listed = { id: string; url: string; sources: string[]; state: string; pausedSources: { source: string; by: string; at: string }[] };
const listed = async (bindings: Env = env) => {
  const [status, body] = await json<{ destinations: Listed[] }>(await request("GET", "/destinations", secrets.ADMIN_TOKEN, bindings));
  expect(status).toBe(200);
  return body.destinations;
};
const cybavoDestination = () => config().sources.get("cybavo")!.destination.id;
const pausedOf = async (id: string) => (await listed()).find((d) => d.id === id)!.pausedSources.map((p) => [p.source, p.by]);

describe("GET /admin/destinations", () => {
  it("lists every configured destination once, with its sources, state and window", async () => {
    const destinations = [...config().destinations.values()];
    const answer = await listed();
    expect(answer.map((d) => d.id)).toEqual(destinations.map((d) => d.id));
    expect(answer.map((d) => d.sources)).toEqual(destinations.map((d) => [...d.sources]));
    // The test origin is a loopback URL with no credentials: shown as configured.
    expect(answer.map((d) => d.url)).toEqual(destinations.map((d) => d.url));
    expect(answer.every((d) => d.state === "closed")).toBe(true);
    const [status, detail] = await json<Listed & { windowSeconds: number; history: unknown[] }>(
      await admin("GET", `/destinations/${cybavoDestination()}`),
    );
    expect(status).toBe(200);
    expect(detail.sources).toContain("cybavo");
    expect(detail.windowSeconds).toBe(config().breakerWindowSeconds);
    expect(detail.history).toEqual([]);
  });

  it("shows what the destination object counted: a reported run's attempts, failures and last failure", async () => {
    const id = cybavoDestination();
    type Detail = { attempts: number; failures: number; consecutiveFailures: number; lastStatus: number | null; lastError: string | null };
    const read = async () => (await json<Detail>(await admin("GET", `/destinations/${id}`)))[1];
    const before = await read();
    const report = { ok: 3, failed: 2, trailingFailed: 1, lastStatus: 503 };
    await env.DESTINATIONS.get(env.DESTINATIONS.idFromName(id)).report({ destination: id, account: "cybavo/1", source: "cybavo", report });
    const after = await read();
    expect([after.attempts - before.attempts, after.failures - before.failures]).toEqual([5, 2]);
    expect([after.consecutiveFailures, after.lastStatus, after.lastError]).toEqual([1, 503, null]);
  });

  it("answers 404 for an id that is not a configured destination", async () => {
    expect(await json(await admin("GET", "/destinations/0000000000000000"))).toEqual([404, { error: "not_found" }]);
    expect((await admin("GET", `/destinations/${cybavoDestination().toUpperCase()}x`)).status).toBe(404);
  });

  it("shows an origin URL as origin and path: never its user information or query", async () => {
    const url = "https://ops-user:hunter2-pass@origin.example:8443/hooks/in?token=tok-secret-123&x=1#frag";
    const sources = JSON.parse(env.SOURCES as string) as Record<string, Record<string, unknown>>;
    const bindings = { ...env, SOURCES: JSON.stringify({ ...sources, cybavo: { ...sources.cybavo, origin: url } }) } as Env;
    const id = config(bindings).sources.get("cybavo")!.destination.id;
    const list = await request("GET", "/destinations", secrets.ADMIN_TOKEN, bindings);
    const detail = await request("GET", `/destinations/${id}`, secrets.ADMIN_TOKEN, bindings);
    for (const response of [list, detail]) {
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text).toContain('"url":"https://origin.example:8443/hooks/in"');
      for (const secret of ["ops-user", "hunter2-pass", "tok-secret-123", "frag"]) expect(text).not.toContain(secret);
    }
  });

  it("redacts any URL's user information, query and fragment (property), in the URL and in error texts", () => {
    const part = fc.stringMatching(/^[A-Za-z0-9_-]{4,20}$/);
    fc.assert(
      fc.property(part, part, part, part, (user, pass, token, path) => {
        const url = `https://${user}:${pass}@origin.example/${path}?token=${token}#${token}`;
        expect(redactedUrl(url)).toBe(`https://origin.example/${path}`);
        const error = scrubbed(`fetch to ${url} failed; retried ${url}`, url);
        expect(error).toBe(`fetch to https://origin.example/${path} failed; retried https://origin.example/${path}`);
      }),
    );
    const url = "https://u:p4ss@h.example/x?k=s3cret";
    const status: DestinationStatus = {
      id: "x",
      state: "open",
      attempts: 12,
      failures: 10,
      consecutiveFailures: 3,
      openedAt: 1_777_593_600_000,
      nextProbeAt: 1_777_593_630_000,
      probeIntervalMs: 30_000,
      lastError: `connect ${url}: refused`,
      lastStatus: null,
      waiting: 4,
      pausedSources: [{ source: "cybavo", at: 1_777_593_000_000, by: "ann" }],
      ratePerSecond: 10,
      maxPerSecond: 100,
      history: [{ at: 1_777_593_600_000, from: "closed", to: "open", reason: `failure_rate 83% of 12 in 300 s at ${url}` }],
    };
    expect(presentDestinationDetail({ id: "d", url, sources: ["cybavo"] }, status, 300)).toEqual({
      id: "d",
      url: "https://h.example/x",
      sources: ["cybavo"],
      state: "open",
      windowSeconds: 300,
      attempts: 12,
      failures: 10,
      consecutiveFailures: 3,
      openedAt: "2026-05-01T00:00:00.000Z",
      nextProbeAt: "2026-05-01T00:00:30.000Z",
      probeIntervalMs: 30_000,
      lastError: "connect https://h.example/x: refused",
      lastStatus: null,
      waiting: 4,
      pausedSources: [{ source: "cybavo", at: "2026-04-30T23:50:00.000Z", by: "ann" }],
      ratePerSecond: 10,
      maxPerSecond: 100,
      history: [
        { at: "2026-05-01T00:00:00.000Z", from: "closed", to: "open", reason: "failure_rate 83% of 12 in 300 s at https://h.example/x" },
      ],
    });
  });
});

describe("pause and resume a source", () => {
  it("round trip: pause, pause again, resume, resume again, each saying whether it changed anything", async () => {
    const id = cybavoDestination();
    expect(await pausedOf(id)).toEqual([]);
    const { result, lines } = await captureLogs(async () => [
      await json(await admin("POST", "/sources/cybavo/pause")),
      await json(await admin("POST", "/sources/cybavo/pause")),
    ]);
    expect(result).toEqual([
      [200, { source: "cybavo", paused: true, changed: true }],
      [200, { source: "cybavo", paused: true, changed: false }],
    ]);
    expect(
      lines
        .filter((l) => l.msg === "admin_pause")
        .map(({ action, source, changed, actor, role }) => [action, source, changed, actor, role]),
    ).toEqual([
      ["pause", "cybavo", true, "token", "admin"],
      ["pause", "cybavo", false, "token", "admin"],
    ]);
    expect(await pausedOf(id)).toEqual([["cybavo", "token"]]);
    expect(await json(await admin("POST", "/sources/cybavo/resume"))).toEqual([200, { source: "cybavo", paused: false, changed: true }]);
    expect(await json(await admin("POST", "/sources/cybavo/resume"))).toEqual([200, { source: "cybavo", paused: false, changed: false }]);
    expect(await pausedOf(id)).toEqual([]);
  });

  it("answers 404 for a source that is not configured", async () => {
    expect(await json(await admin("POST", "/sources/no-such-source/pause"))).toEqual([404, { error: "not_found" }]);
    expect(await json(await admin("POST", "/sources/no-such-source/resume"))).toEqual([404, { error: "not_found" }]);
  });
});

describe("pause and resume an account", () => {
  it("round trip with `changed`, and GET …/delivery shows who paused it", async () => {
    const path = `/sources/cybavo/accounts/${uniqueAccount()}`;
    const delivery = () => admin("GET", `${path}/delivery`).then((r) => json<Record<string, unknown>>(r));
    const [, before] = await delivery();
    expect(before).toMatchObject({ source: "cybavo", paused: false, pausedAt: null, pausedBy: null });
    expect(await json(await admin("POST", `${path}/pause`))).toEqual([
      200,
      { source: "cybavo", account: path.split("/").at(-1), paused: true, changed: true },
    ]);
    expect((await json(await admin("POST", `${path}/pause`)))[1]).toMatchObject({ paused: true, changed: false });
    const [status, paused] = await delivery();
    expect(status).toBe(200);
    expect(paused).toMatchObject({ paused: true, pausedBy: "token" });
    expect(Date.parse(paused.pausedAt as string)).toBeGreaterThan(Date.now() - 60_000);
    expect((await json(await admin("POST", `${path}/resume`)))[1]).toMatchObject({ paused: false, changed: true });
    expect((await json(await admin("POST", `${path}/resume`)))[1]).toMatchObject({ paused: false, changed: false });
    expect((await delivery())[1]).toMatchObject({ paused: false, pausedAt: null, pausedBy: null });
  });

  it("answers 404 under a source that is not configured", async () => {
    for (const [method, action] of [
      ["POST", "pause"],
      ["POST", "resume"],
      ["GET", "delivery"],
    ] as const)
      expect((await admin(method, `/sources/no-such-source/accounts/1/${action}`)).status).toBe(404);
  });
});

describe("who may pause", () => {
  it("the read role reads the state but every change is 403 read_only, and nothing changes", async () => {
    const account = uniqueAccount();
    for (const path of [
      "/sources/cybavo/pause",
      "/sources/cybavo/resume",
      `/sources/cybavo/accounts/${account}/pause`,
      `/sources/cybavo/accounts/${account}/resume`,
    ])
      expect(await json(await request("POST", path, READ_TOKEN, withRead))).toEqual([403, { error: "read_only" }]);
    expect((await request("GET", "/destinations", READ_TOKEN, withRead)).status).toBe(200);
    expect((await request("GET", `/destinations/${cybavoDestination()}`, READ_TOKEN, withRead)).status).toBe(200);
    const [status, delivery] = await json(await request("GET", `/sources/cybavo/accounts/${account}/delivery`, READ_TOKEN, withRead));
    expect([status, delivery.paused]).toEqual([200, false]);
    expect(await pausedOf(cybavoDestination())).toEqual([]);
  });

  it("a console session pauses only with the gateway's own Origin, and is logged under the name it signed in with", async () => {
    const signIn = await call(
      new Request(`${GATEWAY}/admin/session`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ token: secrets.ADMIN_TOKEN, name: "ann" }),
      }),
    );
    expect(signIn.status).toBe(204);
    const cookie = (signIn.headers.get("set-cookie") ?? "").split(";")[0]!;
    const path = `${GATEWAY}/admin/sources/cybavo/accounts/${uniqueAccount()}/pause`;
    const refused = await call(new Request(path, { method: "POST", headers: { cookie, origin: "https://evil.example" } }));
    expect(await json(refused)).toEqual([403, { error: "origin_mismatch" }]);
    const { result, lines } = await captureLogs(async () =>
      call(new Request(path, { method: "POST", headers: { cookie, origin: GATEWAY } })),
    );
    expect((await json(result))[1]).toMatchObject({ paused: true, changed: true });
    expect(lines.filter((l) => l.msg === "admin_pause").map(({ actor, role, via }) => [actor, role, via])).toEqual([
      ["ann", "admin", "session"],
    ]);
  });
});
