/**
 * The README's table "Replies to providers" gives the exact body of every status the gateway
 * answers a provider with (test/replies.test.ts checks the gateway sends these).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const table = readme.slice(
  readme.indexOf("## Replies to providers"),
  readme.indexOf("\n## ", readme.indexOf("## Replies to providers") + 1),
);

describe("README: replies to providers", () => {
  it.each([
    ["401", '`{"error":"unauthorized"}`'],
    ["403", '`{"error":"forbidden"}`'],
    ["404 / 405", '`{"error":"not_found"}` / `{"error":"method_not_allowed"}` with `Allow: POST`'],
    ["413", '`{"error":"payload_too_large"}`'],
  ])("the %s row gives the body the gateway sends", (status, body) => {
    const row = table.split("\n").find((line) => line.includes(`| ${status} |`));
    expect(row, status).toBeDefined();
    expect(row).toContain(body);
  });
});
