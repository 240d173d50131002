/**
 * The operators' index routes (docs/operations.md "Searching events across accounts"): events
 * across every source and account, their count, dead letters and the quarantine, accounts'
 * backlog and origin health, and the index's own state. Read from D1 (binding INDEX_DB), never
 * from the account objects. Registered on the admin router by src/admin.ts; answers get
 * `Cache-Control: no-store` there, like every admin answer.
 */
import type { IRequest } from "itty-router";
import { AccountsQuery, HeldQuery, IndexEventsQuery, IndexFilter } from "../admin-api/events";
import type { GatewayConfig } from "../config";
import { countIndexed, listIndexed } from "../index-db/filter";
import { parsePageQuery } from "../index-db/filter-query";
import { decodeAccountCursor, indexState, listAccounts, listEntries } from "../index-db/queries";
import { reply } from "../replies";
import type { AdminRouter } from "./params";

const badRequest = (message: string) => reply.json(400, { error: message });

/** The schema each route validates its query with: the one its OpenAPI operation shows. */
export const VALIDATES = {
  "get /admin/events": { query: IndexEventsQuery },
  "get /admin/events/count": { query: IndexFilter },
  "get /admin/dead-letters": { query: HeldQuery },
  "get /admin/quarantine": { query: HeldQuery },
  "get /admin/accounts": { query: AccountsQuery },
} as const;

/** Dead letters or quarantined callbacks: `source`, `account`, `cursor`, `limit`. */
function entriesRoute(status: "dead" | "quarantined") {
  return async (request: IRequest, env: Env) => {
    const parsed = parsePageQuery(
      request.query,
      status === "dead" ? VALIDATES["get /admin/dead-letters"].query : VALIDATES["get /admin/quarantine"].query,
    );
    if (!parsed.ok) return badRequest(parsed.error);
    const { filter, cursor, limit } = parsed.value;
    return reply.json(200, await listEntries(env.INDEX_DB, status, filter, cursor, limit));
  };
}

export function indexRoutes(router: AdminRouter): void {
  router
    .get("/events", async (request: IRequest, env: Env) => {
      const parsed = parsePageQuery(request.query, VALIDATES["get /admin/events"].query);
      if (!parsed.ok) return badRequest(parsed.error);
      const { filter, cursor, limit } = parsed.value;
      const page = await listIndexed(env.INDEX_DB, filter, cursor, limit);
      return reply.json(200, { events: page.rows, ...(page.next !== undefined && { next: page.next }) });
    })
    .get("/events/count", async (request: IRequest, env: Env) => {
      const parsed = parsePageQuery(request.query, VALIDATES["get /admin/events/count"].query);
      if (!parsed.ok) return badRequest(parsed.error);
      return reply.json(200, { count: await countIndexed(env.INDEX_DB, parsed.value.filter) });
    })
    .get("/dead-letters", entriesRoute("dead"))
    .get("/quarantine", entriesRoute("quarantined"))
    .get("/accounts", async (request: IRequest, env: Env) => {
      // The accounts' cursor is checked on its own, not as an events page's keyset.
      const parsed = parsePageQuery(request.query, VALIDATES["get /admin/accounts"].query, false);
      if (!parsed.ok) return badRequest(parsed.error);
      const { filter, cursor, limit } = parsed.value;
      if (cursor !== undefined && decodeAccountCursor(cursor) === undefined) return badRequest("cursor is not one this API gave");
      return reply.json(200, await listAccounts(env.INDEX_DB, filter.source, cursor, limit));
    })
    .get("/index", async (_request: IRequest, env: Env, config: GatewayConfig) => {
      return reply.json(
        200,
        await indexState(env.INDEX_DB, Date.now(), { mode: config.indexMode, retentionDays: config.indexRetentionDays }),
      );
    });
}
