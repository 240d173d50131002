/**
 * The brake on guessing the operator API's tokens (src/auth/attempts.ts, docs/operations.md
 * "Sign-in attempts"): every request that presents a token spends from its client's budget in the
 * SIGNIN_LIMIT rate limiting binding (wrangler.toml, run by workerd here as in production): a
 * wrong token 600 of the 6000 points a minute, a right one 1. Counts are exact here (one local
 * counter); in production they are per Cloudflare location and approximate.
 */
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { call, captureLogs, secrets } from "./support/gateway";

const GATEWAY = "https://gateway.test";
const TOO_MANY = '{"error":"too_many_attempts"}';

// Fresh client addresses for every test: the binding's counters outlive a test (and a file).
const run = crypto.getRandomValues(new Uint8Array(2));
let used = 0;
const newIp = () => `198.18.${run[0]}.${(run[1]! + ++used) % 256}`;
const newV6Net = () => `2001:db8:${run[0]!.toString(16)}${run[1]!.toString(16)}:${(++used).toString(16)}`;

/** A guess that is not the token, distinct so a log line holding it would be found. */
const guess = (n: number) => `guess-${n}-not-the-admin-token`;

function signIn(ip: string | null, token: string, bindings: Env = env): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (ip !== null) headers["cf-connecting-ip"] = ip;
  return call(new Request(`${GATEWAY}/admin/session`, { method: "POST", headers, body: JSON.stringify({ token }) }), bindings);
}

function bearer(ip: string, token: string, path = "/counters", bindings: Env = env): Promise<Response> {
  return call(new Request(`${GATEWAY}/admin${path}`, { headers: { authorization: `Bearer ${token}`, "cf-connecting-ip": ip } }), bindings);
}

/** Status and body, and Retry-After on a 429. */
async function outcome(response: Response): Promise<string> {
  const body = await response.text();
  return response.status === 429 ? `429 ${body} retry-after=${response.headers.get("retry-after")}` : `${response.status}`;
}

/**
 * The local binding counts in fixed windows aligned to the clock's minute: a burst that straddled
 * one would start over half-way. Waits for the next window when less than 15 s are left.
 */
async function freshWindow(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 15_000) await new Promise((resolve) => setTimeout(resolve, left + 250));
}

beforeEach(freshWindow, 20_000);

describe("SIGNIN_LIMIT: guessing the token", () => {
  it("ten wrong sign-ins from one IP are 401, the eleventh is 429 with Retry-After: 60, and the right token is refused too", async () => {
    const ip = newIp();
    // A sign-in with the right token costs 1: ten wrong ones still fit after it.
    const signedIn = await signIn(ip, secrets.ADMIN_TOKEN);
    expect(signedIn.status).toBe(204);
    const cookie = /^(__Host-wg_session=[^;]+);/.exec(signedIn.headers.get("set-cookie") ?? "")?.[1] ?? "";
    const answers = [];
    for (let n = 0; n < 11; n++) answers.push(await outcome(await signIn(ip, guess(n))));
    expect(answers).toEqual([...Array(10).fill("401"), `429 ${TOO_MANY} retry-after=60`]);

    // Limited: the right token answers as a wrong one would now, so a guesser learns nothing.
    const right = await signIn(ip, secrets.ADMIN_TOKEN);
    expect([await outcome(right), right.headers.get("set-cookie"), right.headers.get("cache-control")]).toEqual([
      `429 ${TOO_MANY} retry-after=60`,
      null,
      "no-store",
    ]);
    expect(await outcome(await bearer(ip, secrets.ADMIN_TOKEN))).toBe(`429 ${TOO_MANY} retry-after=60`);
    // A session opened before presents no token: the console of that operator keeps working.
    const who = await call(new Request(`${GATEWAY}/admin/session`, { headers: { cookie, "cf-connecting-ip": ip } }));
    expect(who.status).toBe(200);
  });

  it("another IP is unaffected; an IPv6 client is counted by its /64, so rotating addresses inside it does not help", async () => {
    const limited = newIp();
    for (let n = 0; n < 10; n++) expect((await signIn(limited, guess(n))).status).toBe(401);
    expect((await signIn(limited, guess(10))).status).toBe(429);
    const other = newIp();
    expect([(await signIn(other, guess(0))).status, (await signIn(other, secrets.ADMIN_TOKEN)).status]).toEqual([401, 204]);

    const net = newV6Net();
    const answers = [];
    for (let n = 0; n < 11; n++) answers.push((await signIn(`${net}:${n.toString(16)}::${n + 1}`, guess(n))).status);
    expect(answers).toEqual([...Array(10).fill(401), 429]);
    // The next /64 has its own budget.
    expect((await signIn(`${newV6Net()}::1`, secrets.ADMIN_TOKEN)).status).toBe(204);
  });

  it("a wrong bearer token counts too, from the same budget as sign-ins", async () => {
    const ip = newIp();
    const answers = [];
    for (let n = 0; n < 5; n++) answers.push(await outcome(await signIn(ip, guess(n))));
    for (let n = 5; n < 10; n++) answers.push(await outcome(await bearer(ip, guess(n))));
    answers.push(await outcome(await bearer(ip, guess(10), "/health")));
    answers.push(await outcome(await signIn(ip, secrets.ADMIN_TOKEN)));
    expect(answers).toEqual([...Array(10).fill("401"), ...Array(2).fill(`429 ${TOO_MANY} retry-after=60`)]);
  });

  it("what each request spends: a right token 1, a wrong one 600, keyed by IPv4 address or IPv6 /64; a cookie or no credential spends nothing", async () => {
    // The real binding, with each call it gets written down.
    const calls: RateLimitOptions[] = [];
    const recording = {
      limit: (options: RateLimitOptions) => {
        calls.push(options);
        return env.SIGNIN_LIMIT.limit(options);
      },
    } satisfies RateLimit;
    const bindings = { ...env, SIGNIN_LIMIT: recording } as Env;
    const ip = newIp();
    const v6 = "2001:db8:a:b:c:d:e:f";
    const signedIn = await signIn(ip, secrets.ADMIN_TOKEN, bindings);
    const cookie = /^(__Host-wg_session=[^;]+);/.exec(signedIn.headers.get("set-cookie") ?? "")?.[1] ?? "";
    const statuses = [
      signedIn.status,
      (await signIn(ip, guess(0), bindings)).status,
      (await bearer(ip, secrets.ADMIN_TOKEN, "/counters", bindings)).status,
      (await bearer(v6, guess(1), "/counters", bindings)).status,
      (await call(new Request(`${GATEWAY}/admin/counters`, { headers: { cookie, "cf-connecting-ip": ip } }), bindings)).status,
      (await call(new Request(`${GATEWAY}/admin/counters`, { headers: { "cf-connecting-ip": ip } }), bindings)).status,
      (
        await call(
          new Request(`${GATEWAY}/admin/counters`, { headers: { authorization: "Basic dXNlcjpwYXNz", "cf-connecting-ip": ip } }),
          bindings,
        )
      ).status,
    ];
    expect(statuses).toEqual([204, 401, 200, 401, 200, 401, 401]);
    const [a, b, c, d] = ip.split(".").map((n) => Number(n).toString(16).padStart(2, "0"));
    expect(calls).toEqual([
      { key: `ip:ffff${a}${b}${c}${d}`, delta: 1 },
      { key: `ip:ffff${a}${b}${c}${d}`, delta: 600 },
      { key: `ip:ffff${a}${b}${c}${d}`, delta: 1 },
      { key: "net:20010db8000a000b/64", delta: 600 },
    ]);
  });

  it("the refusal is logged at warn with the IP; no line holds a token, right or wrong", async () => {
    const ip = newIp();
    const { lines } = await captureLogs(async () => {
      for (let n = 0; n < 11; n++) await signIn(ip, guess(n));
      await bearer(ip, secrets.ADMIN_TOKEN);
    });
    expect(lines.filter((l) => l.msg === "too_many_attempts")).toEqual([
      { msg: "too_many_attempts", level: "warn", ip, path: "/admin/session" },
    ]);
    expect(lines.filter((l) => l.msg === "admin").map((l) => l.status)).toEqual([...Array(10).fill(401), 429, 429]);
    const text = JSON.stringify(lines);
    for (const token of [secrets.ADMIN_TOKEN, ...Array.from({ length: 11 }, (_, n) => guess(n))]) expect(text).not.toContain(token);
  });

  it("a request without CF-Connecting-IP (only in-process calls: Cloudflare sets it on every request) is not counted", async () => {
    const answers = [];
    for (let n = 0; n < 12; n++) answers.push((await signIn(null, guess(n))).status);
    expect(answers).toEqual(Array(12).fill(401));
  });
});

describe("SIGNIN_LIMIT missing or failing: operators are not locked out", () => {
  it("without the binding, tokens are checked unlimited, GET /admin/health reports it (500), and one error line per isolate says so", async () => {
    const bindings = { ...env, SIGNIN_LIMIT: undefined } as unknown as Env;
    const ip = newIp();
    const { result, lines } = await captureLogs(async () => {
      const answers = [];
      for (let n = 0; n < 12; n++) answers.push((await signIn(ip, guess(n), bindings)).status);
      answers.push((await signIn(ip, secrets.ADMIN_TOKEN, bindings)).status);
      return answers;
    });
    expect(result).toEqual([...Array(12).fill(401), 204]);
    expect(lines.filter((l) => l.level === "error")).toEqual([
      {
        msg: "signin_limit_missing",
        level: "error",
        error: "SIGNIN_LIMIT: no rate limiting binding: token guesses are not limited (wrangler.toml [[ratelimits]])",
      },
    ]);
    const health = await bearer(ip, secrets.ADMIN_TOKEN, "/health", bindings);
    expect([health.status, await health.json()]).toEqual([
      500,
      {
        status: "invalid_config",
        admin: "enabled",
        errors: ["SIGNIN_LIMIT: no rate limiting binding: token guesses are not limited (wrangler.toml [[ratelimits]])"],
      },
    ]);
    // Everything else answers: the configuration itself is valid.
    expect((await bearer(ip, secrets.ADMIN_TOKEN, "/counters", bindings)).status).toBe(200);
    // With the binding, health is ok.
    expect((await bearer(newIp(), secrets.ADMIN_TOKEN, "/health")).status).toBe(200);
  });

  it("a binding that fails: the token is checked as if unlimited (fail open), logged at error", async () => {
    const failing = {
      limit: () => Promise.reject(new Error("rate limiter unreachable")),
    } satisfies RateLimit;
    const bindings = { ...env, SIGNIN_LIMIT: failing } as Env;
    const ip = newIp();
    const { result, lines } = await captureLogs(async () => [
      (await signIn(ip, guess(0), bindings)).status,
      (await signIn(ip, secrets.ADMIN_TOKEN, bindings)).status,
      (await bearer(ip, secrets.ADMIN_TOKEN, "/counters", bindings)).status,
    ]);
    expect(result).toEqual([401, 204, 200]);
    expect(lines.filter((l) => l.msg === "signin_limit_error")).toEqual([
      { msg: "signin_limit_error", level: "error", error: "rate limiter unreachable" },
    ]);
  });
});
