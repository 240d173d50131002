/**
 * The OpenAPI document against the Worker (test/node/openapi.test.ts checks the committed file is
 * what src/admin-api/ generates): GET /admin/openapi.json serves it, and every operation it
 * documents is a route that takes the documented query parameters and answers a documented
 * status with a body its schema accepts. Each operation is called once, with a real event,
 * quarantined callback and job in its path and a sample value for every query parameter.
 */
import { env } from "cloudflare:workers";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import committed from "../schema/openapi.json" with { type: "json" };
import { type ApiRoute, ROUTES } from "../src/admin-api/routes";
import { loadConfig } from "../src/config";
import { QUARANTINE_ACCOUNT } from "../src/ingress";
import { admin, call, cybavoCallback, drain, newRows, postCybavo, storedEvents, uniqueAccount } from "./support/gateway";
import { TEST_SECRETS } from "./support/test-config";

/** JSON bodies of the operations that take one. */
const BODIES: Record<string, unknown> = {
  "POST /admin/jobs": { kind: "redeliver", filter: { source: "cybavo", from: String(Date.now() + 3_600_000) }, expect: 0 },
  "POST /admin/session": { token: TEST_SECRETS.ADMIN_TOKEN, name: "openapi test" },
};

function send(method: string, path: string, body?: unknown): Promise<Response> {
  if (body === undefined) return admin(method, path.replace(/^\/admin/, ""));
  return call(
    new Request(`https://gateway.test${path}`, {
      method,
      headers: { authorization: `Bearer ${TEST_SECRETS.ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
}

describe("GET /admin/openapi.json", () => {
  it("serves the committed document, as JSON, behind the operator API's credentials", async () => {
    const response = await admin("GET", "/openapi.json");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await response.json()).toEqual(committed);
    expect((await admin("GET", "/openapi.json", null)).status).toBe(401);
  });

  it("every documented operation is routed, takes its documented query, and answers as documented", async () => {
    const wallet = uniqueAccount();
    const before = await storedEvents("cybavo", String(wallet));
    expect((await postCybavo("cybavo", cybavoCallback({ wallet_id: wallet }))).status).toBe(200);
    const [event] = newRows(before, await storedEvents("cybavo", String(wallet)));
    await drain("cybavo", String(wallet));
    const held = await storedEvents("cybavo", QUARANTINE_ACCOUNT);
    expect((await postCybavo("cybavo", cybavoCallback({ wallet_id: wallet, state: 42 }))).status).toBe(200);
    const quarantineId = newRows(held, await storedEvents("cybavo", QUARANTINE_ACCOUNT))[0]!.id;
    const created = await send("POST", "/admin/jobs", BODIES["POST /admin/jobs"]);
    expect(created.status).toBe(202);
    const jobId = (await created.json<{ job: { id: string } }>()).job.id;

    const loaded = loadConfig(env);
    const destination = loaded.ok ? [...loaded.config.destinations.keys()][0]! : "no configuration";
    const samples: Record<string, string> = {
      source: "cybavo",
      account: String(wallet),
      type: event!.type!,
      status: "delivered",
      state: "delivered",
      from: "0",
      to: String(Date.now() + 60_000),
      since: String(Date.now() - 3_600_000),
      q: event!.id,
      limit: "10",
      after: "0",
    };
    const url = (route: ApiRoute) => {
      const path = route.path
        .replace("{source}", "cybavo")
        .replace("{account}", String(wallet))
        .replace("{destination}", destination)
        .replace("{id}", route.path.startsWith("/admin/jobs") ? jobId : route.path.includes("/quarantine/") ? quarantineId : event!.id);
      // Cursors are opaque: only a previous page's value is valid, so none is sent.
      const query = Object.keys(route.query?.entries ?? {}).filter((name) => name !== "cursor");
      for (const name of query) expect(samples[name], `a sample value for ${name}`).toBeDefined();
      return query.length === 0 ? path : `${path}?${new URLSearchParams(query.map((name) => [name, samples[name]!]))}`;
    };

    const problems: string[] = [];
    // Reads first, then actions (an erase or a cancel changes what later calls answer).
    const ordered = [...ROUTES].sort((a, b) => (a.method === "get" ? 0 : 1) - (b.method === "get" ? 0 : 1));
    for (const route of ordered) {
      const name = `${route.method.toUpperCase()} ${route.path}`;
      const response = await send(route.method.toUpperCase(), url(route), BODIES[name]);
      const documented = route.responses[response.status];
      const text = await response.text();
      if (response.status === 404) problems.push(`${name}: 404 ${text}`);
      else if (documented === undefined) problems.push(`${name}: ${response.status} is not documented (${text.slice(0, 200)})`);
      else if (documented.schema !== undefined) {
        const parsed = v.safeParse(documented.schema, JSON.parse(text));
        if (!parsed.success) {
          const issue = parsed.issues[0];
          problems.push(`${name}: ${response.status} ${issue?.path?.map((p) => String(p.key)).join(".")}: ${issue?.message}`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(ordered.length).toBe(Object.values(committed.paths).flatMap((methods) => Object.keys(methods)).length);
  });
});
