/**
 * schema/openapi.json is what src/admin-api/ defines (the Worker serves the committed file at
 * GET /admin/openapi.json; `npm run schema` regenerates it), and it is a well-formed OpenAPI 3.1
 * document: every operation has an id of its own and answers, and every reference resolves.
 * That each documented path is a route of the Worker is checked inside workerd
 * (test/openapi-routes.test.ts).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { adminOpenApi } from "../../src/admin-api/openapi";

const root = new URL("../../", import.meta.url);
const committed = JSON.parse(readFileSync(new URL("schema/openapi.json", root), "utf8")) as Record<string, unknown>;
const { version } = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as { version: string };

type Operation = { operationId: string; responses: Record<string, unknown> };

describe("schema/openapi.json", () => {
  it("is what src/admin-api/ defines (run `npm run schema` after changing a route's schemas)", () => {
    expect(committed).toEqual(adminOpenApi(version));
  });

  it("is OpenAPI 3.1 with unique operation ids, answers for every operation, and no dangling reference", () => {
    expect(committed.openapi).toBe("3.1.0");
    const paths = committed.paths as Record<string, Record<string, Operation>>;
    const operations = Object.values(paths).flatMap((byMethod) => Object.values(byMethod));
    const ids = operations.map((op) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const op of operations) expect(Object.keys(op.responses).length).toBeGreaterThanOrEqual(2);
    const refs = [...JSON.stringify(committed).matchAll(/"\$ref":"#\/([^"]+)"/g)].map((m) => m[1] ?? "");
    expect(refs.length).toBeGreaterThan(10);
    const unresolved = refs.filter((ref) => {
      let node: unknown = committed;
      for (const part of ref.split("/")) node = (node as Record<string, unknown> | undefined)?.[part];
      return node === undefined;
    });
    expect(unresolved).toEqual([]);
  });
});
