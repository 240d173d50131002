/**
 * The operator API's edges (docs/operations.md "Operator API"): account keys that look like the
 * gateway's internal object names, path parameters that need percent-decoding, answers no cache
 * may keep, and the public health check that says only ok or not ok.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { eventId } from "../src/ingress";
import { accountObjectName, internalLedger, internalObjectName } from "../src/object-names";
import killbDeposit from "../src/providers/killb/fixtures/transaction-deposit.json" with { type: "json" };
import { drainAccount } from "./support/accounts";
import { runAlarmNow } from "./support/alarms";
import { admin, call, captureLogs, drain, originEvents, post, scriptOrigin, secrets, uniqueAccount } from "./support/gateway";
import { killbSignature } from "./support/kits";
import { acceptInput, ledger } from "./support/ledger-faults";
import { ageRows } from "./support/ledger-sql";

/** A KillB TRANSACTION callback for `userId` (the account key), with a fresh event id. */
async function sendKillb(userId: string): Promise<{ status: number; id: string }> {
  const key = `evt_${crypto.randomUUID()}`;
  const body = JSON.stringify({ ...killbDeposit, id: key, data: { ...killbDeposit.data, id: `txn_${uniqueAccount()}`, userId } });
  const response = await post("killb", body, { "x-signature-sha256": await killbSignature(body) });
  return { status: response.status, id: await eventId("killb", userId, key) };
}

type Listed = { account: string; events: { id: string; state: string; event: { subject: string } | null }[] };

describe("account keys that look like internal names", () => {
  it.each(["~stats", "~quarantine"])("a KillB event of user %s is delivered, listed and redelivered", async (user) => {
    // The origin answers this subject's first attempt with 410: a dead letter the operator must
    // be able to find and send again.
    await scriptOrigin(user, [410]);
    const sent = await sendKillb(user);
    expect(sent.status).toBe(200);
    await drainAccount("killb", user);

    const list = await admin("GET", `/sources/killb/accounts/${encodeURIComponent(user)}/events?limit=1000`);
    expect(list.status).toBe(200);
    const listed = await list.json<Listed>();
    expect(listed.account).toBe(user);
    expect(listed.events.filter((e) => e.id === sent.id).map((e) => [e.state, e.event?.subject])).toEqual([["dead", user]]);

    const redeliver = await admin("POST", `/sources/killb/accounts/${encodeURIComponent(user)}/events/${sent.id}/redeliver`);
    expect(redeliver.status).toBe(202);
    await drainAccount("killb", user);
    const one = await (await admin("GET", `/sources/killb/accounts/${encodeURIComponent(user)}/events/${sent.id}`)).json<{
      state: string;
    }>();
    expect(one.state).toBe("delivered");
    expect((await originEvents(user)).filter((e) => e.id === sent.id)).toHaveLength(1);

    // The source's own object of that name holds no provider event.
    const internal = internalLedger(env, "killb", user as "~stats" | "~quarantine");
    expect((await internal.events({ limit: 1000 })).filter((e) => e.id === sent.id)).toEqual([]);
  });

  it("object names: accounts never reach an internal name, and two accounts never share one (property)", () => {
    const internal = new Set([internalObjectName("s", "~stats"), internalObjectName("s", "~quarantine")]);
    const key = fc.oneof(
      fc.string(),
      fc.string({ unit: fc.constantFrom("~", "s", "t", "a", "/", "%") }),
      fc.constantFrom("~stats", "~~stats"),
    );
    fc.assert(
      fc.property(key, key, (a, b) => {
        expect(internal.has(accountObjectName("s", a))).toBe(false);
        if (a !== b) expect(accountObjectName("s", a)).not.toBe(accountObjectName("s", b));
      }),
      { numRuns: 2000 },
    );
    // Accounts that do not start with `~` keep the object they always had.
    expect(accountObjectName("killb", "e3d5c4ca-839a")).toBe("killb/e3d5c4ca-839a");
    expect(accountObjectName("killb", "~stats")).toBe("killb/~~stats");
  });
});

describe("path parameters are percent-decoded", () => {
  it.each([
    ["a space", " "],
    ["a slash", "/"],
    ["a percent sign", "%"],
    ["a plus sign", "+"],
  ])("an account id with %s is listed, inspected and redelivered", async (_name, char) => {
    const user = `u${char}${uniqueAccount()}`;
    const sent = await sendKillb(user);
    expect(sent.status).toBe(200);
    await drainAccount("killb", user);
    const path = `/sources/killb/accounts/${encodeURIComponent(user)}`;
    const listed = await (await admin("GET", `${path}/events`)).json<Listed>();
    expect(listed.account).toBe(user);
    expect(listed.events.map((e) => [e.id, e.state, e.event?.subject])).toEqual([[sent.id, "delivered", user]]);
    expect((await admin("GET", `${path}/events/${sent.id}`)).status).toBe(200);
    expect((await admin("POST", `${path}/events/${sent.id}/redeliver`)).status).toBe(202);
    await drainAccount("killb", user);
    expect((await originEvents(user)).map((e) => e.id)).toEqual([sent.id, sent.id]);
  });

  it("a literal '+' in the path is a plus, not a space", async () => {
    const user = `p+${uniqueAccount()}`;
    const sent = await sendKillb(user);
    await drainAccount("killb", user);
    const listed = await (await admin("GET", `/sources/killb/accounts/${user}/events`)).json<Listed>();
    expect(listed.events.map((e) => e.id)).toEqual([sent.id]);
  });

  it("the source and the event id are decoded too", async () => {
    expect((await admin("GET", "/sources/kill%62/counters")).status).toBe(200);
    const user = `e${uniqueAccount()}`;
    const sent = await sendKillb(user);
    const encodedId = [...sent.id].map((c) => `%${c.charCodeAt(0).toString(16)}`).join("");
    expect((await admin("GET", `/sources/killb/accounts/${user}/events/${encodedId}`)).status).toBe(200);
  });

  it.each([
    ["GET", "/sources/killb/accounts/%E0%A4%A/events"],
    ["GET", "/sources/killb/accounts/%/events"],
    ["GET", "/sources/%ZZ/counters"],
    ["GET", "/sources/killb/accounts/x/events/%C0%80"],
    ["POST", "/sources/killb/accounts/x/events/%E0%A4%A/redeliver"],
    ["POST", "/sources/killb/accounts/%FF/replay?since=0"],
    ["GET", "/sources/killb/quarantine/%E0%A4%A"],
  ])("%s %s (malformed escape) → 400, never a throw", async (method, path) => {
    const response = await admin(method, path);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: "malformed percent-encoding in the path" });
  });
});

describe("Cache-Control: no-store on every admin answer", () => {
  const broken = { ...env, SOURCES: '{"x":{"provider":"cybavo","secrets":["MISSING_BINDING"]}}' } as unknown as Env;
  const auth = { authorization: `Bearer ${secrets.ADMIN_TOKEN}` };

  it.each([
    ["GET", "/counters", 200],
    ["GET", "/health", 200],
    ["GET", "/sources/cybavo/accounts/1/events", 200],
    ["GET", "/sources/cybavo/accounts/1/events?since=yesterday", 400],
    ["GET", "/sources/cybavo/accounts/1/events/evt_nope", 404],
    ["POST", "/sources/cybavo/accounts/1/events/evt_nope/redeliver", 404],
    ["GET", "/nope", 404],
    ["GET", "/sources/killb/accounts/%E0/events", 400],
  ])("%s %s → %i", async (method, path, status) => {
    const response = await admin(method, path);
    expect(response.status).toBe(status);
    expect(response.headers.get("cache-control")).toBe("no-store");
  });

  it("also on 401 and on 503 (configuration invalid)", async () => {
    const unauthorized = await admin("GET", "/counters", "wrong-token-wrong-token");
    expect([unauthorized.status, unauthorized.headers.get("cache-control")]).toEqual([401, "no-store"]);
    const unavailable = await call(new Request("https://gateway.test/admin/counters", { headers: auth }), broken);
    expect([unavailable.status, unavailable.headers.get("cache-control")]).toEqual([503, "no-store"]);
    const bare = await call(new Request("https://gateway.test/admin", { headers: auth }));
    expect([bare.status, bare.headers.get("cache-control")]).toEqual([404, "no-store"]);
  });
});

describe("what an admin answer and its log line carry", () => {
  it("JSON answers forbid sniffing and framing, and load nothing (Content-Security-Policy), on 200 and 404", async () => {
    for (const [path, status] of [
      ["/counters", 200],
      ["/nope", 404],
    ] as const) {
      const response = await admin("GET", path);
      expect([response.status, response.headers.get("x-content-type-options"), response.headers.get("content-security-policy")]).toEqual([
        status,
        "nosniff",
        "default-src 'none'; frame-ancestors 'none'",
      ]);
    }
  });

  it("the audit line names the query parameters, never their values (a search may be a provider reference)", async () => {
    const reference = `0xref${uniqueAccount()}`;
    const { lines } = await captureLogs(() => admin("GET", `/events?q=${reference}&source=cybavo&limit=5`));
    const audit = lines.filter((line) => line.msg === "admin");
    expect(audit.map((line) => [line.path, line.query])).toEqual([["/admin/events", "q,source,limit"]]);
    expect(JSON.stringify(lines).includes(reference)).toBe(false);
  });

  it("an account's event list answers at most 100 events per page, whatever limit asks for", async () => {
    const account = `page-cap-${uniqueAccount()}`;
    await runInDurableObject(ledger("cybavo", account), (_i, state) => {
      const now = Date.now();
      state.storage.sql.exec(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 150)
         INSERT INTO events (seq, id, source, idempotency_key, type, state, body, received_at, attempts, delivered_at)
         SELECT i, 'evt_page_' || i, 'cybavo', 'k' || i, 'deposit.updated', 'delivered', '{}', ?1, 1, ?1 FROM n`,
        now,
      );
    });
    const page = await (await admin("GET", `/sources/cybavo/accounts/${account}/events?limit=1000`)).json<{
      events: { seq: number }[];
      next?: string;
    }>();
    expect([page.events.length, page.events[0]?.seq, page.next]).toEqual([100, 1, "100"]);
    const rest = await (await admin("GET", `/sources/cybavo/accounts/${account}/events?limit=1000&after=100`)).json<{
      events: { seq: number }[];
    }>();
    expect(rest.events.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 101 + i));
  });
});

describe("redeliver answers", () => {
  it("409 for a delivered event whose body retention has passed; 404 for an unknown id", async () => {
    const account = `redeliver-409-${uniqueAccount()}`;
    const stub = ledger("cybavo", account);
    const input = await acceptInput("cybavo", account, "old");
    await stub.accept(input);
    await drain("cybavo", account);
    await runInDurableObject(stub, (instance, state) => {
      ageRows(instance, state.storage.sql, 9 * 86_400_000);
      (instance as unknown as { nextPruneAt: number }).nextPruneAt = 0;
    });
    await runAlarmNow(stub);
    const path = (id: string) => `/sources/cybavo/accounts/${account}/events/${id}/redeliver`;
    const dropped = await admin("POST", path(input.id));
    expect([dropped.status, await dropped.json()]).toEqual([409, { error: "not_redeliverable" }]);
    const unknown = await admin("POST", path("evt_00000000000000000000000000000000"));
    expect([unknown.status, await unknown.json()]).toEqual([404, { error: "not_found" }]);
  });
});

describe("the Authorization header", () => {
  const get = (authorization?: string) =>
    call(new Request("https://gateway.test/admin/counters", { headers: authorization === undefined ? {} : { authorization } }));

  it("takes the Bearer scheme in any case (RFC 9110: scheme names are case-insensitive); the token is exact", async () => {
    for (const scheme of ["Bearer", "bearer", "BEARER", "bEaReR"]) {
      expect((await get(`${scheme} ${secrets.ADMIN_TOKEN}`)).status, scheme).toBe(200);
    }
    expect((await get(`Bearer ${secrets.ADMIN_TOKEN.toUpperCase()}x`)).status).toBe(401);
    expect((await get(`Basic ${secrets.ADMIN_TOKEN}`)).status).toBe(401);
    expect((await get(`Bearer${secrets.ADMIN_TOKEN}`)).status).toBe(401);
  });

  it("a 401 names the scheme it takes in WWW-Authenticate, as HTTP requires", async () => {
    for (const response of [await get(), await get("Bearer wrong-token-wrong-token"), await get("Basic dXNlcjpwYXNz")]) {
      expect([response.status, response.headers.get("www-authenticate")]).toEqual([401, 'Bearer realm="webhook-gateway admin"']);
      expect(await response.json()).toEqual({ error: "unauthorized" });
    }
  });
});

describe("health", () => {
  const broken = { ...env, SOURCES: '{"x":{"provider":"cybavo","secrets":["MISSING_BINDING"]}}' } as unknown as Env;
  const auth = { authorization: `Bearer ${secrets.ADMIN_TOKEN}` };

  it("GET /healthz is public and says only ok (200) or not ok (500), as plain text", async () => {
    const ok = await call(new Request("https://gateway.test/healthz"));
    expect([ok.status, ok.headers.get("content-type"), await ok.text()]).toEqual([200, "text/plain; charset=utf-8", "ok"]);
    const notOk = await call(new Request("https://gateway.test/healthz"), broken);
    expect([notOk.status, notOk.headers.get("content-type"), await notOk.text()]).toEqual([500, "text/plain; charset=utf-8", "not ok"]);
  });

  it("GET /admin/health shows the sources, secrets counts and admin state behind the token", async () => {
    const response = await admin("GET", "/health");
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({
      status: "ok",
      admin: "enabled",
      sources: { cybavo: { provider: "cybavo", secrets: 2 }, cregis: { provider: "cregis", secrets: 1 } },
    });
    for (const secret of Object.values(secrets)) expect(text).not.toContain(secret);
    expect((await admin("GET", "/health", null)).status).toBe(401);
  });

  it("GET /admin/health names the configuration errors (500) while everything else is 503", async () => {
    const response = await call(new Request("https://gateway.test/admin/health", { headers: auth }), broken);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({
      status: "invalid_config",
      admin: "enabled",
      errors: ["SOURCES.x.secrets: secret binding MISSING_BINDING is not set"],
    });
    const anonymous = await call(new Request("https://gateway.test/admin/health"), broken);
    expect(anonymous.status).toBe(401);
  });
});
