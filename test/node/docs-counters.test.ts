/**
 * Every counter the operator API returns is documented: each name in `COUNTERS`
 * (src/stats.ts) has its row in docs/operations.md "Reading counters", and no row there names
 * a counter the gateway does not keep.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const root = new URL("../../", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), "utf8");

describe("docs/operations.md", () => {
  it("documents every counter the API returns, and no other", () => {
    const source = read("src/stats.ts");
    const list = /export const COUNTERS = \[([\s\S]*?)\] as const/.exec(source)?.[1] ?? "";
    const counters = [...list.matchAll(/"([a-z_]+)"/g)].map((m) => m[1]);
    expect(counters.length).toBeGreaterThanOrEqual(17);
    const docs = read("docs/operations.md");
    const section = docs.slice(docs.indexOf("### Reading counters"), docs.indexOf("\n## ", docs.indexOf("### Reading counters")));
    const documented = [...section.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
    expect([...documented].sort()).toEqual([...counters].sort());
  });
});
