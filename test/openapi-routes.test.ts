/**
 * GET /admin/openapi.json serves the committed document (schema/openapi.json, generated from
 * src/admin-api/ by `npm run schema`; test/node/openapi.test.ts checks it is current), and every
 * path it documents is a route of the Worker: a request to it, with a real event, quarantined
 * callback and job in the path, is answered by its route, never by the catch-all 404.
 */
import { describe, expect, it } from "vitest";
import committed from "../schema/openapi.json" with { type: "json" };
import { QUARANTINE_ACCOUNT } from "../src/ingress";
import { admin, call, cybavoCallback, drain, newRows, postCybavo, storedEvents, uniqueAccount } from "./support/gateway";
import { TEST_SECRETS } from "./support/test-config";

const paths = committed.paths as Record<string, Record<string, unknown>>;

/** A request as the documented operation takes it, with a JSON body for POST /admin/jobs. */
function request(method: string, path: string): Promise<Response> {
  if (path === "/admin/jobs" && method === "POST") {
    return call(
      new Request(`https://gateway.test${path}`, {
        method,
        headers: { authorization: `Bearer ${TEST_SECRETS.ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ kind: "redeliver", filter: { source: "cybavo", from: String(Date.now() + 3_600_000) }, expect: 0 }),
      }),
    );
  }
  return admin(method, path.replace(/^\/admin/, ""));
}

describe("GET /admin/openapi.json", () => {
  it("serves the committed document, as JSON, behind the operator API's credentials", async () => {
    const response = await admin("GET", "/openapi.json");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await response.json()).toEqual(committed);
    expect((await admin("GET", "/openapi.json", null)).status).toBe(401);
  });

  it("every documented path and method is a route: with real ids in it, none answers the catch-all 404", async () => {
    const wallet = uniqueAccount();
    const before = await storedEvents("cybavo", String(wallet));
    expect((await postCybavo("cybavo", cybavoCallback({ wallet_id: wallet }))).status).toBe(200);
    const eventId = newRows(before, await storedEvents("cybavo", String(wallet)))[0]!.id;
    await drain("cybavo", String(wallet));
    const held = await storedEvents("cybavo", QUARANTINE_ACCOUNT);
    expect((await postCybavo("cybavo", cybavoCallback({ wallet_id: wallet, state: 42 }))).status).toBe(200);
    const quarantineId = newRows(held, await storedEvents("cybavo", QUARANTINE_ACCOUNT))[0]!.id;
    const created = await request("POST", "/admin/jobs");
    expect(created.status).toBe(202);
    const jobId = (await created.json<{ job: { id: string } }>()).job.id;

    const concrete = (path: string) =>
      path
        .replace("{source}", "cybavo")
        .replace("{account}", String(wallet))
        .replace("{id}", path.startsWith("/admin/jobs") ? jobId : path.includes("/quarantine/") ? quarantineId : eventId);
    const answered: string[] = [];
    // Reads first, then actions (an erase before a read would still answer, but the order keeps each meaningful).
    const operations = Object.entries(paths)
      .flatMap(([path, methods]) => Object.keys(methods).map((method) => [method.toUpperCase(), path] as const))
      .sort(([a], [b]) => (a === "GET" ? 0 : 1) - (b === "GET" ? 0 : 1));
    expect(operations.length).toBeGreaterThanOrEqual(25);
    for (const [method, path] of operations) {
      const url = `${concrete(path)}${path.endsWith("/replay") ? "?since=0" : ""}`;
      const response = await request(method, url);
      if (response.status === 404) answered.push(`${method} ${path}: 404 ${await response.text()}`);
    }
    expect(answered).toEqual([]);
  });
});
