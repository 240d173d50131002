/**
 * The brake on guessing the operator API's tokens (src/auth/attempts.ts, docs/operations.md
 * "Sign-in attempts"): every request that presents a token, right or wrong, is one call of the
 * SIGNIN_LIMIT rate limiting binding (`limit({ key })`, the documented API) with the limit of
 * wrangler.toml, run by workerd here as in production. Counts are exact here (one local
 * counter); in production they are per Cloudflare location and approximate.
 */
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import wranglerToml from "../wrangler.toml?raw";
import { call, captureLogs, secrets } from "./support/gateway";

const GATEWAY = "https://gateway.test";
const TOO_MANY = '{"error":"too_many_attempts"}';
const REFUSED = `429 ${TOO_MANY} retry-after=60`;

/** The binding's limit as wrangler.toml declares it (the configuration the tests run with). */
function configuredLimit(): { limit: number; period: number } {
  const block = /\[\[ratelimits\]\]\s*name = "SIGNIN_LIMIT"[^[]*?simple = \{ limit = (\d+), period = (\d+) \}/.exec(wranglerToml);
  if (block === null) throw new Error("wrangler.toml: no [[ratelimits]] block for SIGNIN_LIMIT");
  return { limit: Number(block[1]), period: Number(block[2]) };
}
const { limit: LIMIT, period: PERIOD } = configuredLimit();

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
 * The outcomes of `count` requests made by `request(n)`, n = 0 … count - 1, sent in parallel
 * batches (the limit is hundreds of requests: one at a time would take long). Within the budget
 * the order does not matter: the binding's counter is one Durable Object, each call counted once.
 */
async function outcomes(count: number, request: (n: number) => Promise<Response>): Promise<string[]> {
  const answers: string[] = [];
  for (let from = 0; from < count; from += 100) {
    const batch = Array.from({ length: Math.min(100, count - from) }, (_, i) => request(from + i).then(outcome));
    answers.push(...(await Promise.all(batch)));
  }
  return answers;
}

/** `count` times `answer`, for comparing a run of outcomes exactly. */
const times = (count: number, answer: string) => Array<string>(count).fill(answer);

/**
 * The local binding counts in fixed windows aligned to the clock's period: a burst that straddled
 * one would start over part-way. Waits for the next window when less than 20 s are left.
 */
async function freshWindow(): Promise<void> {
  const left = PERIOD * 1000 - (Date.now() % (PERIOD * 1000));
  if (left < 20_000) await new Promise((resolve) => setTimeout(resolve, left + 250));
}

beforeEach(freshWindow, 30_000);

describe("SIGNIN_LIMIT: guessing the token", () => {
  it("the configuration: 600 token-presenting requests per client a minute", () => {
    expect({ limit: LIMIT, period: PERIOD }).toEqual({ limit: 600, period: 60 });
  });

  it("LIMIT sign-ins from one IP, the right token among them, answer; the next is 429 with Retry-After: 60, the right token too", async () => {
    const ip = newIp();
    // The right token costs what a wrong one costs: one request of the budget.
    const signedIn = await signIn(ip, secrets.ADMIN_TOKEN);
    expect(signedIn.status).toBe(204);
    const cookie = /^(__Host-wg_session=[^;]+);/.exec(signedIn.headers.get("set-cookie") ?? "")?.[1] ?? "";
    expect(await outcomes(LIMIT - 1, (n) => signIn(ip, guess(n)))).toEqual(times(LIMIT - 1, "401"));
    expect(await outcome(await signIn(ip, guess(LIMIT)))).toBe(REFUSED);

    // Limited: the right token answers as a wrong one would now, so a guesser learns nothing.
    const right = await signIn(ip, secrets.ADMIN_TOKEN);
    expect([await outcome(right), right.headers.get("set-cookie"), right.headers.get("cache-control")]).toEqual([
      REFUSED,
      null,
      "no-store",
    ]);
    expect(await outcome(await bearer(ip, secrets.ADMIN_TOKEN))).toBe(REFUSED);
    // A session opened before presents no token: the console of that operator keeps working.
    const who = await call(new Request(`${GATEWAY}/admin/session`, { headers: { cookie, "cf-connecting-ip": ip } }));
    expect(who.status).toBe(200);
  });

  it("a script with the right bearer token has LIMIT requests a minute, then 429 like anyone", async () => {
    const ip = newIp();
    expect(await outcomes(LIMIT, () => bearer(ip, secrets.ADMIN_TOKEN))).toEqual(times(LIMIT, "200"));
    expect(await outcome(await bearer(ip, secrets.ADMIN_TOKEN))).toBe(REFUSED);
  });

  it("sign-ins and bearer tokens, right or wrong, spend one budget", async () => {
    const ip = newIp();
    const half = LIMIT / 2;
    const answers = await outcomes(LIMIT, (n) =>
      n < half ? signIn(ip, guess(n)) : n % 2 === 0 ? bearer(ip, guess(n)) : bearer(ip, secrets.ADMIN_TOKEN),
    );
    expect(answers).toEqual([...times(half, "401"), ...Array.from({ length: half }, (_, i) => ((half + i) % 2 === 0 ? "401" : "200"))]);
    expect([await outcome(await bearer(ip, guess(LIMIT), "/health")), await outcome(await signIn(ip, secrets.ADMIN_TOKEN))]).toEqual([
      REFUSED,
      REFUSED,
    ]);
  });

  it("another IP is unaffected by a limited one", async () => {
    const limited = newIp();
    expect(await outcomes(LIMIT, (n) => signIn(limited, guess(n)))).toEqual(times(LIMIT, "401"));
    expect((await signIn(limited, guess(LIMIT))).status).toBe(429);
    const other = newIp();
    expect([(await signIn(other, guess(0))).status, (await signIn(other, secrets.ADMIN_TOKEN)).status]).toEqual([401, 204]);
  });

  it("an IPv6 client is counted by its /64, so rotating addresses inside it does not help; the next /64 has its own budget", async () => {
    const net = newV6Net();
    const inside = (n: number) => `${net}:${(n % 0xffff).toString(16)}::${(n + 1).toString(16)}`;
    expect(await outcomes(LIMIT, (n) => signIn(inside(n), guess(n)))).toEqual(times(LIMIT, "401"));
    expect((await signIn(inside(LIMIT), secrets.ADMIN_TOKEN)).status).toBe(429);
    expect((await signIn(`${newV6Net()}::1`, secrets.ADMIN_TOKEN)).status).toBe(204);
  });

  it("each token-presenting request is one call limit({ key }), keyed by IPv4 address or IPv6 /64; a cookie, no credential or Basic makes none", async () => {
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
      { key: `ip:ffff${a}${b}${c}${d}` },
      { key: `ip:ffff${a}${b}${c}${d}` },
      { key: `ip:ffff${a}${b}${c}${d}` },
      { key: "net:20010db8000a000b/64" },
    ]);
  });

  it("the refusal is logged at warn with the IP; no line holds a token, right or wrong", async () => {
    const ip = newIp();
    const { lines } = await captureLogs(async () => {
      await outcomes(LIMIT, (n) => signIn(ip, guess(n)));
      await signIn(ip, guess(LIMIT));
      await bearer(ip, secrets.ADMIN_TOKEN);
    });
    expect(lines.filter((l) => l.msg === "too_many_attempts")).toEqual([
      { msg: "too_many_attempts", level: "warn", ip, path: "/admin/session" },
    ]);
    expect(lines.filter((l) => l.msg === "admin").map((l) => l.status)).toEqual([...Array(LIMIT).fill(401), 429, 429]);
    const text = JSON.stringify(lines);
    for (const token of [secrets.ADMIN_TOKEN, ...Array.from({ length: LIMIT + 1 }, (_, n) => guess(n))]) expect(text).not.toContain(token);
  });

  it("a request without CF-Connecting-IP (only in-process calls: Cloudflare sets it on every request) is not counted", async () => {
    expect(await outcomes(LIMIT + 1, (n) => signIn(null, guess(n)))).toEqual(times(LIMIT + 1, "401"));
  });
});

describe("SIGNIN_LIMIT missing or failing: operators are not locked out", () => {
  it("without the binding, tokens are checked unlimited, GET /admin/health reports it (500), and one error line per isolate says so", async () => {
    const bindings = { ...env, SIGNIN_LIMIT: undefined } as unknown as Env;
    const ip = newIp();
    const { result, lines } = await captureLogs(async () => {
      const answers = await outcomes(LIMIT + 1, (n) => signIn(ip, guess(n), bindings));
      answers.push(await outcome(await signIn(ip, secrets.ADMIN_TOKEN, bindings)));
      return answers;
    });
    expect(result).toEqual([...times(LIMIT + 1, "401"), "204"]);
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
