/**
 * The console's session cookie and the rules around it (docs/operations.md "Console sign-in and
 * sessions"): sign-in with a token, the cookie's exact attributes, expiry, tampering, rotation
 * of either token, the Origin rule on state-changing requests, the read-only role, and the audit
 * line naming who did what. Each test first shows the good case works, so a gateway without
 * sessions fails it.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  admin,
  call,
  captureLogs,
  cybavoCallback,
  drain,
  originEvents,
  postCybavo,
  scriptOrigin,
  secrets,
  storedEvents,
  uniqueAccount,
} from "./support/gateway";

const GATEWAY = "https://gateway.test";
const COOKIE = "__Host-wg_session";
const READ_TOKEN = "test-read-token-0123456789";
/** The test bindings plus a read-only token (one object, so the parsed configuration is cached). */
const withRead = { ...env, ADMIN_READ_TOKEN: READ_TOKEN } as Env;

async function signIn(body: unknown, bindings: Env = withRead, headers: Record<string, string> = {}): Promise<Response> {
  return call(
    new Request(`${GATEWAY}/admin/session`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    }),
    bindings,
  );
}

/** Signs in and returns the cookie's value. */
async function session(token: string, name?: string, bindings: Env = withRead): Promise<string> {
  const response = await signIn({ token, ...(name !== undefined && { name }) }, bindings);
  expect(response.status).toBe(204);
  const match = new RegExp(`^${COOKIE}=([^;]+);`).exec(response.headers.get("set-cookie") ?? "");
  if (match === null) throw new Error(`no session cookie in ${response.headers.get("set-cookie")}`);
  return match[1] as string;
}

/** An admin request with the session cookie (and an Origin header when given). */
function withCookie(method: string, path: string, cookie: string, options: { origin?: string; bindings?: Env } = {}): Promise<Response> {
  const headers: Record<string, string> = { cookie: `other=1; ${COOKIE}=${cookie}` };
  if (options.origin !== undefined) headers.origin = options.origin;
  return call(new Request(`${GATEWAY}/admin${path}`, { method, headers }), options.bindings ?? withRead);
}

const whoami = async (cookie: string, bindings?: Env) => {
  const response = await withCookie("GET", "/session", cookie, bindings === undefined ? {} : { bindings });
  return [response.status, await response.json()] as const;
};

/** A cybavo account whose one event is dead (the origin answered 410): something to redeliver. */
async function deadLetter(): Promise<{ wallet: string; id: string }> {
  const wallet = String(uniqueAccount());
  await scriptOrigin(wallet, [410]);
  expect((await postCybavo("cybavo", cybavoCallback({ wallet_id: Number(wallet) }))).status).toBe(200);
  await drain("cybavo", wallet);
  const rows = await storedEvents("cybavo", wallet);
  expect(rows.map((r) => r.state)).toEqual(["dead"]);
  return { wallet, id: rows[0]!.id };
}

const redeliverPath = (d: { wallet: string; id: string }) => `/sources/cybavo/accounts/${d.wallet}/events/${d.id}/redeliver`;
const stateOf = async (d: { wallet: string }) => (await storedEvents("cybavo", d.wallet)).map((r) => r.state);

/** base64url without padding, as the cookie's two parts are written. */
const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
const unb64url = (text: string) => Uint8Array.from(atob(text.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0));

afterEach(() => {
  vi.useRealTimers();
});

describe("sign-in", () => {
  it("answers 204 with exactly one cookie: __Host- prefix, Path=/, HttpOnly, Secure, SameSite=Strict, Max-Age = SESSION_TTL_SECONDS", async () => {
    const response = await signIn({ token: secrets.ADMIN_TOKEN, name: "alice" });
    expect(response.status).toBe(204);
    expect(await response.text()).toBe("");
    const cookies = response.headers.getSetCookie();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatch(
      /^__Host-wg_session=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Strict; Max-Age=3600$/,
    );
    expect(response.headers.get("cache-control")).toBe("no-store");

    const shorter = await signIn({ token: secrets.ADMIN_TOKEN }, { ...withRead, SESSION_TTL_SECONDS: "600" } as Env);
    expect(shorter.headers.getSetCookie()[0]).toMatch(/; Max-Age=600$/);
  });

  it("GET /admin/session reads the session: actor, role, expiry", async () => {
    const before = Date.now();
    const cookie = await session(secrets.ADMIN_TOKEN, "alice");
    const [status, body] = await whoami(cookie);
    expect(status).toBe(200);
    expect(body).toEqual({ actor: "alice", role: "admin", expiresAt: expect.any(String) });
    const expires = Date.parse((body as { expiresAt: string }).expiresAt);
    // exp is in whole seconds: within a second of sign-in time + 3600 s.
    expect(expires).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 3_600_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 3_600_000);
    // Without a name, the credential is the actor.
    expect(await whoami(await session(secrets.ADMIN_TOKEN))).toEqual([
      200,
      { actor: "token", role: "admin", expiresAt: expect.any(String) },
    ]);
    expect(await whoami(await session(READ_TOKEN, "bob"))).toEqual([200, { actor: "bob", role: "read", expiresAt: expect.any(String) }]);
  });

  it("a wrong token is 401 with the same answer whatever was wrong, and sets no cookie", async () => {
    expect((await signIn({ token: secrets.ADMIN_TOKEN })).status).toBe(204);
    const answers = [];
    for (const token of [
      "wrong",
      "",
      `${secrets.ADMIN_TOKEN}x`,
      secrets.ADMIN_TOKEN.slice(0, -1),
      `${READ_TOKEN}x`,
      READ_TOKEN.toUpperCase(),
    ]) {
      const response = await signIn({ token, name: "mallory" });
      answers.push([response.status, await response.text(), response.headers.get("set-cookie")]);
    }
    expect(new Set(answers.map((a) => JSON.stringify(a)))).toEqual(new Set([JSON.stringify([401, '{"error":"unauthorized"}', null])]));
    // A read token is not accepted where none is configured.
    expect((await signIn({ token: READ_TOKEN }, env)).status).toBe(401);
  });

  it("the name is a short printable label: control characters, more than 64 characters, a non-string → 400", async () => {
    expect(await whoami(await session(secrets.ADMIN_TOKEN, "é".repeat(64)))).toEqual([
      200,
      expect.objectContaining({ actor: "é".repeat(64) }),
    ]);
    for (const body of [
      { token: secrets.ADMIN_TOKEN, name: "a".repeat(65) },
      { token: secrets.ADMIN_TOKEN, name: "alice\nadmin" },
      { token: secrets.ADMIN_TOKEN, name: "alice\u202e" },
      { token: secrets.ADMIN_TOKEN, name: "" },
      { token: secrets.ADMIN_TOKEN, name: 7 },
      { name: "alice" },
      "not json",
    ]) {
      const response = await signIn(body);
      expect([response.status, response.headers.get("set-cookie")], JSON.stringify(body)).toEqual([400, null]);
    }
  });

  it("a browser's sign-in from another origin is refused (403), from the gateway's own origin accepted", async () => {
    const foreign = await signIn({ token: secrets.ADMIN_TOKEN }, withRead, { origin: "https://evil.test" });
    expect([foreign.status, await foreign.json(), foreign.headers.get("set-cookie")]).toEqual([403, { error: "origin_mismatch" }, null]);
    expect((await signIn({ token: secrets.ADMIN_TOKEN }, withRead, { origin: GATEWAY })).status).toBe(204);
  });
});

describe("a session cookie is accepted only as it was issued", () => {
  it("a valid cookie reads the API; no cookie is 401 with the bearer challenge", async () => {
    const cookie = await session(secrets.ADMIN_TOKEN, "alice");
    expect((await withCookie("GET", "/counters", cookie)).status).toBe(200);
    const none = await call(new Request(`${GATEWAY}/admin/counters`), withRead);
    expect([none.status, await none.json(), none.headers.get("www-authenticate")]).toEqual([
      401,
      { error: "unauthorized" },
      'Bearer realm="webhook-gateway admin"',
    ]);
    expect((await call(new Request(`${GATEWAY}/admin/session`), withRead)).status).toBe(401);
  });

  it("an expired cookie is 401 (the clock moved past its expiry)", async () => {
    const cookie = await session(secrets.ADMIN_TOKEN, "alice");
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 3_590_000);
    expect((await withCookie("GET", "/counters", cookie)).status).toBe(200);
    vi.setSystemTime(Date.now() + 11_000);
    expect((await withCookie("GET", "/counters", cookie)).status).toBe(401);
    expect((await withCookie("GET", "/session", cookie)).status).toBe(401);
  });

  it("a tampered payload (a read session made admin, or a later expiry) is 401", async () => {
    const cookie = await session(READ_TOKEN, "bob");
    expect((await withCookie("GET", "/counters", cookie)).status).toBe(200);
    const [payload, signature] = cookie.split(".") as [string, string];
    const claims = JSON.parse(new TextDecoder().decode(unb64url(payload))) as Record<string, unknown>;
    expect(claims).toMatchObject({ role: "read", actor: "bob", exp: expect.any(Number) });
    for (const changed of [
      { ...claims, role: "admin" },
      { ...claims, exp: (claims.exp as number) + 86_400 },
      { ...claims, actor: "alice" },
    ]) {
      const forged = `${b64url(new TextEncoder().encode(JSON.stringify(changed)))}.${signature}`;
      expect((await withCookie("GET", "/counters", forged)).status).toBe(401);
    }
  });

  it("any one-character change of the cookie is 401 (property)", async () => {
    const cookie = await session(secrets.ADMIN_TOKEN, "alice");
    expect((await withCookie("GET", "/counters", cookie)).status).toBe(200);
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: cookie.length - 1 }), fc.constantFrom(...alphabet), async (at, char) => {
        fc.pre(cookie[at] !== char);
        const changed = cookie.slice(0, at) + char + cookie.slice(at + 1);
        expect((await withCookie("GET", "/counters", changed)).status).toBe(401);
      }),
      { numRuns: 300 },
    );
    // The signature's last character carries unused bits: a changed one never decodes to the same tag.
    const last = cookie.at(-1) as string;
    for (const char of alphabet.replace(last, "").replace(".", "")) {
      expect((await withCookie("GET", "/counters", cookie.slice(0, -1) + char)).status).toBe(401);
    }
    for (const broken of ["", ".", cookie.split(".")[0] as string, `${cookie}.x`, `${cookie}=`, `${cookie.split(".")[0]}.`]) {
      expect((await withCookie("GET", "/counters", broken)).status).toBe(401);
    }
  });

  it("rotating ADMIN_TOKEN ends every session; rotating ADMIN_READ_TOKEN ends the read sessions only", async () => {
    const adminCookie = await session(secrets.ADMIN_TOKEN, "alice");
    const readCookie = await session(READ_TOKEN, "bob");
    expect((await withCookie("GET", "/counters", adminCookie)).status).toBe(200);
    expect((await withCookie("GET", "/counters", readCookie)).status).toBe(200);

    const adminRotated = { ...withRead, ADMIN_TOKEN: "rotated-admin-token-0123456789" } as Env;
    expect((await withCookie("GET", "/counters", adminCookie, { bindings: adminRotated })).status).toBe(401);
    expect((await withCookie("GET", "/counters", readCookie, { bindings: adminRotated })).status).toBe(401);

    const readRotated = { ...withRead, ADMIN_READ_TOKEN: "rotated-read-token-0123456789" } as Env;
    expect((await withCookie("GET", "/counters", adminCookie, { bindings: readRotated })).status).toBe(200);
    expect((await withCookie("GET", "/counters", readCookie, { bindings: readRotated })).status).toBe(401);
    // Removing the read token ends them too.
    expect((await withCookie("GET", "/counters", readCookie, { bindings: env })).status).toBe(401);
  });

  it("DELETE /admin/session answers 204 with a cookie that expires it", async () => {
    const cookie = await session(secrets.ADMIN_TOKEN, "alice");
    const foreign = await withCookie("DELETE", "/session", cookie, { origin: "https://evil.test" });
    expect([foreign.status, foreign.headers.get("set-cookie")]).toEqual([403, null]);
    const response = await withCookie("DELETE", "/session", cookie, { origin: GATEWAY });
    expect(response.status).toBe(204);
    expect(response.headers.getSetCookie()).toEqual([`${COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0`]);
  });
});

describe("the Origin rule: a cookie alone never changes anything", () => {
  it("a state-changing request with the cookie and a wrong or missing Origin → 403, nothing changed; the right Origin → done", async () => {
    const dead = await deadLetter();
    const cookie = await session(secrets.ADMIN_TOKEN, "alice");
    for (const origin of [undefined, "https://evil.test", "null", "https://gateway.test:8443", "http://gateway.test", `${GATEWAY}/`]) {
      const response = await withCookie("POST", redeliverPath(dead), cookie, origin === undefined ? {} : { origin });
      expect([response.status, await response.json()], origin).toEqual([403, { error: "origin_mismatch" }]);
    }
    await drain("cybavo", dead.wallet);
    expect(await stateOf(dead)).toEqual(["dead"]);
    expect(await originEvents(dead.wallet)).toEqual([]);

    const allowed = await withCookie("POST", redeliverPath(dead), cookie, { origin: GATEWAY });
    expect(allowed.status).toBe(202);
    await drain("cybavo", dead.wallet);
    expect(await stateOf(dead)).toEqual(["delivered"]);
    expect((await originEvents(dead.wallet)).map((e) => e.id)).toEqual([dead.id]);
  });

  it("GET needs no Origin; bearer requests need none either", async () => {
    const cookie = await session(secrets.ADMIN_TOKEN);
    expect((await withCookie("GET", "/counters", cookie)).status).toBe(200);
    const dead = await deadLetter();
    const response = await call(
      new Request(`${GATEWAY}/admin${redeliverPath(dead)}`, {
        method: "POST",
        headers: { authorization: `Bearer ${secrets.ADMIN_TOKEN}`, origin: "https://evil.test" },
      }),
      withRead,
    );
    expect(response.status).toBe(202);
    expect((await admin("POST", "/sources/cybavo/accounts/1/replay?since=0")).status).toBe(202);
  });
});

describe("the read-only role", () => {
  it("reads (200) but every state-changing route is 403 read_only, by session or by bearer, and nothing changes", async () => {
    const dead = await deadLetter();
    const cookie = await session(READ_TOKEN, "bob");
    const bearer = (method: string, path: string) =>
      call(new Request(`${GATEWAY}/admin${path}`, { method, headers: { authorization: `Bearer ${READ_TOKEN}` } }), withRead);
    for (const path of [
      "/counters",
      `/sources/cybavo/accounts/${dead.wallet}/events`,
      `/sources/cybavo/accounts/${dead.wallet}/events/${dead.id}`,
    ]) {
      expect((await withCookie("GET", path, cookie)).status, path).toBe(200);
      expect((await bearer("GET", path)).status, path).toBe(200);
    }
    for (const path of [
      redeliverPath(dead),
      `/sources/cybavo/accounts/${dead.wallet}/replay?since=0`,
      "/sources/cybavo/quarantine/reprocess",
      "/nope",
    ]) {
      const bySession = await withCookie("POST", path, cookie, { origin: GATEWAY });
      expect([bySession.status, await bySession.json()], path).toEqual([403, { error: "read_only" }]);
      const byBearer = await bearer("POST", path);
      expect([byBearer.status, await byBearer.json()], path).toEqual([403, { error: "read_only" }]);
    }
    await drain("cybavo", dead.wallet);
    expect(await stateOf(dead)).toEqual(["dead"]);
    // Its own session routes stay open to it: sign-out.
    expect((await withCookie("DELETE", "/session", cookie, { origin: GATEWAY })).status).toBe(204);
  });
});

describe("the actor reaches the routes", () => {
  it("an erasure records the session's actor, not a generic admin", async () => {
    const dead = await deadLetter();
    const cookie = await session(secrets.ADMIN_TOKEN, "alice");
    const response = await withCookie("POST", `/sources/cybavo/accounts/${dead.wallet}/events/${dead.id}/erase`, cookie, {
      origin: GATEWAY,
    });
    expect(response.status).toBe(200);
    const reasons = (await storedEvents("cybavo", dead.wallet)).map((r) => r.reason);
    expect(reasons).toEqual([expect.stringMatching(/^erased at \S+ by alice$/)]);
  });
});

describe("the audit line", () => {
  it("names the actor and role of every state-changing request, never a token or a cookie", async () => {
    const dead = await deadLetter();
    const cookie = await session(secrets.ADMIN_TOKEN, "alice");
    const readCookie = await session(READ_TOKEN, "bob");
    const { lines } = await captureLogs(async () => {
      await withCookie("POST", redeliverPath(dead), cookie, { origin: GATEWAY });
      await withCookie("POST", redeliverPath(dead), readCookie, { origin: GATEWAY });
      await call(
        new Request(`${GATEWAY}/admin/sources/cybavo/accounts/${dead.wallet}/replay?since=0`, {
          method: "POST",
          headers: { authorization: `Bearer ${secrets.ADMIN_TOKEN}` },
        }),
        withRead,
      );
      await call(
        new Request(`${GATEWAY}/admin/sources/cybavo/quarantine/reprocess`, {
          method: "POST",
          headers: { authorization: `Bearer ${READ_TOKEN}` },
        }),
        withRead,
      );
      await signIn({ token: secrets.ADMIN_TOKEN, name: "carol" });
      await signIn({ token: "wrong-token", name: "mallory" });
    });
    const audit = lines
      .filter((l) => l.msg === "admin")
      .map(({ method, path, status, actor, role, via }) => ({ method, path, status, actor, role, via }));
    expect(audit).toEqual([
      { method: "POST", path: `/admin${redeliverPath(dead)}`, status: 202, actor: "alice", role: "admin", via: "session" },
      { method: "POST", path: `/admin${redeliverPath(dead)}`, status: 403, actor: "bob", role: "read", via: "session" },
      {
        method: "POST",
        path: `/admin/sources/cybavo/accounts/${dead.wallet}/replay`,
        status: 202,
        actor: "token",
        role: "admin",
        via: "bearer",
      },
      { method: "POST", path: "/admin/sources/cybavo/quarantine/reprocess", status: 403, actor: "read-token", role: "read", via: "bearer" },
      { method: "POST", path: "/admin/session", status: 204, actor: "carol", role: "admin", via: "sign-in" },
      { method: "POST", path: "/admin/session", status: 401, actor: undefined, role: undefined, via: undefined },
    ]);
    const text = JSON.stringify(lines);
    for (const secret of [secrets.ADMIN_TOKEN, READ_TOKEN, cookie, readCookie, ...cookie.split("."), ...readCookie.split(".")]) {
      expect(text).not.toContain(secret);
    }
  });
});
