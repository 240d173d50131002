/**
 * The OpenAPI document and the routes cannot drift: every query or body schema the document
 * shows (src/admin-api/routes.ts, from which `npm run schema` generates schema/openapi.json) is
 * the very object its route validates with (each route module's `VALIDATES`, which its handlers
 * read), and no route validates with a schema the document does not show.
 */
import { describe, expect, it } from "vitest";
import { VALIDATES as accountRoutes } from "../src/admin";
import { VALIDATES as indexRoutes } from "../src/admin/index-routes";
import { VALIDATES as jobRoutes } from "../src/admin/jobs";
import { VALIDATES as overviewRoutes } from "../src/admin/overview";
import { ROUTES } from "../src/admin-api/routes";
import { VALIDATES as sessionRoutes } from "../src/auth/session-routes";

const validated: Record<string, { query?: unknown; body?: unknown }> = {
  ...accountRoutes,
  ...indexRoutes,
  ...jobRoutes,
  ...overviewRoutes,
  ...sessionRoutes,
};

describe("the OpenAPI document's schemas are the routes' own", () => {
  it("each documented query and body is the object its route validates with (===)", () => {
    const documented = ROUTES.filter((route) => route.query !== undefined || route.body !== undefined);
    expect(documented.length).toBe(12);
    for (const route of documented) {
      const key = `${route.method} ${route.path}`;
      const used = validated[key];
      expect(used, `${key} validates with a schema from VALIDATES`).toBeDefined();
      expect(used?.query, `${key} query`).toBe(route.query);
      expect(used?.body, `${key} body`).toBe(route.body);
    }
  });

  it("no route validates with a schema the document does not show", () => {
    const documented = new Set(ROUTES.map((route) => `${route.method} ${route.path}`));
    expect(Object.keys(validated).filter((key) => !documented.has(key))).toEqual([]);
    expect(Object.keys(validated).length).toBe(12);
  });
});
