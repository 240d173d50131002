/**
 * Optional Cloudflare Access in front of /admin/* and /console* (docs/deploy.md "Cloudflare
 * Access, checked by the Worker"): the `Cf-Access-Jwt-Assertion` JWT is verified before anything
 * else, against the team's keys. The keys are generated here with WebCrypto and published on the
 * real test origin (scripts/origin.mjs serves them at <team>/cdn-cgi/access/certs on loopback),
 * so the Worker fetches them exactly as it fetches Cloudflare's.
 */
import { env } from "cloudflare:workers";
import { type JWTPayload, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { call, captureLogs, secrets } from "./support/gateway";

const GATEWAY = "https://gateway.test";
const AUD = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";

interface Team {
  domain: string;
  bindings: Env;
  key: CryptoKey;
  kid: string;
}

const rsa = () =>
  crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  ) as Promise<CryptoKeyPair>;

/** A team: a fresh key pair whose public half the origin serves as the team's certs. */
async function team(name: string): Promise<Team> {
  const pair = await rsa();
  const jwk = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
  const kid = `kid-${name}`;
  const published = await fetch(`${env.TEST_ORIGIN_URL}/_jwks/${name}`, {
    method: "PUT",
    body: JSON.stringify({ keys: [{ ...jwk, kid, alg: "RS256", use: "sig" }] }),
  });
  expect(published.status).toBe(200);
  const domain = `${env.TEST_ORIGIN_URL}/jwks/${name}`;
  return { domain, key: pair.privateKey, kid, bindings: { ...env, ACCESS_TEAM_DOMAIN: domain, ACCESS_AUD: AUD } as Env };
}

/** base64url without padding, as JWTs are written. */
const b64url = (text: string) => btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

/** A JWT as Access issues it for a user; `claims` override (or, as undefined, remove) its claims. */
function jwt(t: Team, claims: JWTPayload = {}, options: { key?: CryptoKey; kid?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: JWTPayload = {
    email: "ops@example.com",
    type: "app",
    iss: t.domain,
    aud: [AUD],
    sub: "7335d417-61da-459d-899c-0a01c76a2f94",
    iat: now,
    nbf: now,
    exp: now + 600,
    ...claims,
  };
  return new SignJWT(payload).setProtectedHeader({ alg: "RS256", kid: options.kid ?? t.kid }).sign(options.key ?? t.key);
}

function request(t: Team, path: string, assertion: string | null, init: RequestInit & { bearer?: boolean } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (assertion !== null) headers.set("cf-access-jwt-assertion", assertion);
  if (init.bearer !== false) headers.set("authorization", `Bearer ${secrets.ADMIN_TOKEN}`);
  return call(new Request(`${GATEWAY}${path}`, { ...init, headers }), t.bindings);
}

let main: Team;
let other: Team;
beforeAll(async () => {
  main = await team(`main-${crypto.randomUUID()}`);
  other = await team(`other-${crypto.randomUUID()}`);
});

describe("Cloudflare Access, checked by the Worker", () => {
  it("a valid JWT is accepted, and its email is the actor of the audit line", async () => {
    const assertion = await jwt(main);
    expect((await request(main, "/admin/counters", assertion)).status).toBe(200);
    const { result, lines } = await captureLogs(() =>
      request(main, "/admin/sources/cybavo/accounts/1/replay?since=0", assertion, { method: "POST" }),
    );
    expect(result.status).toBe(202);
    const audit = lines.filter((l) => l.msg === "admin");
    expect(audit.map(({ status, actor, role, via }) => ({ status, actor, role, via }))).toEqual([
      { status: 202, actor: "ops@example.com", role: "admin", via: "bearer" },
    ]);
    expect(JSON.stringify(lines)).not.toContain(assertion.split(".")[2]);
    // A service token's JWT has no email and an empty subject: its client id (common_name) is the actor.
    const service = await jwt(main, { email: undefined, sub: "", common_name: "88bf3b6d86161464f6509f7219099e57.access" });
    const logged = await captureLogs(() => request(main, "/admin/sources/cybavo/accounts/1/replay?since=0", service, { method: "POST" }));
    expect(logged.lines.filter((l) => l.msg === "admin").map((l) => l.actor)).toEqual(["88bf3b6d86161464f6509f7219099e57.access"]);
  });

  it("is checked before the token: without a JWT even the right bearer token is 403, and no token is 403 too", async () => {
    expect((await request(main, "/admin/counters", await jwt(main))).status).toBe(200);
    for (const bearer of [true, false]) {
      const response = await request(main, "/admin/counters", null, { bearer });
      expect([response.status, await response.json()]).toEqual([403, { error: "forbidden" }]);
    }
    const health = await request(main, "/admin/health", null);
    expect(health.status).toBe(403);
    const session = await request(main, "/admin/session", null, {
      method: "POST",
      body: JSON.stringify({ token: secrets.ADMIN_TOKEN }),
      bearer: false,
    });
    expect([session.status, session.headers.get("set-cookie")]).toEqual([403, null]);
  });

  it.each([
    ["the wrong audience", async () => jwt(main, { aud: ["another-application-aud"] })],
    ["the wrong issuer", async () => jwt(main, { iss: "https://otherteam.cloudflareaccess.com" })],
    ["an expired token", async () => jwt(main, { exp: Math.floor(Date.now() / 1000) - 60 })],
    ["a token not valid yet", async () => jwt(main, { nbf: Math.floor(Date.now() / 1000) + 600 })],
    ["a token signed by another key under the team's key id", async () => jwt(main, {}, { key: other.key })],
    ["a token signed by another team's key", async () => jwt(main, {}, { key: other.key, kid: other.kid })],
    ["a token of another team (its own issuer and keys)", async () => jwt(other)],
    [
      "a token with a changed payload",
      async () => {
        const [header, , signature] = (await jwt(main)).split(".");
        const payload = b64url(JSON.stringify({ email: "boss@example.com", aud: [AUD], iss: main.domain, exp: 4_102_444_800 }));
        return `${header}.${payload}.${signature}`;
      },
    ],
    [
      "an unsigned token",
      async () => {
        const [, payload] = (await jwt(main)).split(".");
        return `${b64url(JSON.stringify({ alg: "none" }))}.${payload}.`;
      },
    ],
    ["garbage", async () => "not-a-jwt"],
  ])("%s → 403, whatever the bearer token", async (_name, make) => {
    expect((await request(main, "/admin/counters", await jwt(main))).status).toBe(200);
    const response = await request(main, "/admin/counters", await make());
    expect([response.status, await response.json()]).toEqual([403, { error: "forbidden" }]);
  });

  it("/console is guarded too", async () => {
    for (const path of ["/console", "/console/", "/console/events?source=cybavo"]) {
      const denied = await request(main, path, null, { bearer: false });
      expect(denied.status, path).toBe(403);
      const wrong = await request(main, path, await jwt(main, { aud: ["another-application-aud"] }), { bearer: false });
      expect(wrong.status, path).toBe(403);
    }
    // With a valid JWT the console answers as usual: /console redirects to /console/.
    expect((await request(main, "/console", await jwt(main), { bearer: false })).status).toBe(308);
  });

  it("a half-configured Access (team domain without AUD) fails closed: 403 on /admin even with the token", async () => {
    const half = { ...env, ACCESS_TEAM_DOMAIN: main.domain } as Env;
    const response = await call(
      new Request(`${GATEWAY}/admin/counters`, {
        headers: { authorization: `Bearer ${secrets.ADMIN_TOKEN}`, "cf-access-jwt-assertion": await jwt(main) },
      }),
      half,
    );
    expect(response.status).toBe(403);
    // Webhooks answer 503 as for any invalid configuration.
    const webhook = await call(new Request(`${GATEWAY}/webhooks/cybavo`, { method: "POST", body: "{}" }), half);
    expect(webhook.status).toBe(503);
  });
});
