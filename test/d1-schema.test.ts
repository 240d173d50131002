/**
 * The operators' index schema (migrations/) applies to a real local D1 database, as
 * `wrangler d1 migrations apply` applies it: every table the gateway writes is there.
 */
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";

it("the index database has the tables of migrations/", async () => {
  const { results } = await env.INDEX_DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT IN ('d1_migrations', 'sqlite_sequence') ORDER BY name",
  ).all<{ name: string }>();
  expect(results.map((r) => r.name)).toEqual(["accounts", "counts", "events", "jobs", "ops_conditions", "refs", "rejections"]);
});
