/**
 * The operators' index routes (docs/operations.md "Searching events across accounts"): events
 * across every source and account, their count, dead letters and the quarantine, accounts'
 * backlog and origin health, and the index's own state. Read from D1 (binding INDEX_DB), never
 * from the account objects. Registered on the admin router by src/admin.ts; answers get
 * `Cache-Control: no-store` there, like every admin answer.
 */
import type { IRequest } from "itty-router";
import type { GatewayConfig } from "../config";
import { countIndexed, listIndexed, parsePageQuery } from "../index-db/filter";
import { decodeAccountCursor, indexState, listAccounts, listEntries } from "../index-db/queries";
import { reply } from "../replies";
import type { AdminRouter } from "./params";

const badRequest = (message: string) => reply.json(400, { error: message });

/** The first query parameter not in `allowed`, as the 400 names it; undefined when there is none. */
function unknownParameter(request: IRequest, allowed: readonly string[]): string | undefined {
  const extra = Object.keys(request.query).find((key) => !allowed.includes(key));
  return extra === undefined ? undefined : `unknown parameter ${JSON.stringify(extra)}`;
}

/** Dead letters or quarantined callbacks: `source`, `account`, `cursor`, `limit`. */
function entriesRoute(status: "dead" | "quarantined") {
  return async (request: IRequest, env: Env) => {
    const extra = unknownParameter(request, ["source", "account", "cursor", "limit"]);
    if (extra !== undefined) return badRequest(extra);
    const parsed = parsePageQuery(request.query);
    if (!parsed.ok) return badRequest(parsed.error);
    const { filter, cursor, limit } = parsed.value;
    return reply.json(200, await listEntries(env.INDEX_DB, status, filter, cursor, limit));
  };
}

export function indexRoutes(router: AdminRouter): void {
  router
    .get("/events", async (request: IRequest, env: Env) => {
      const parsed = parsePageQuery(request.query);
      if (!parsed.ok) return badRequest(parsed.error);
      const { filter, cursor, limit } = parsed.value;
      const page = await listIndexed(env.INDEX_DB, filter, cursor, limit);
      return reply.json(200, { events: page.rows, ...(page.next !== undefined && { next: page.next }) });
    })
    .get("/events/count", async (request: IRequest, env: Env) => {
      const extra = unknownParameter(request, ["source", "account", "type", "status", "from", "to", "q"]);
      if (extra !== undefined) return badRequest(extra);
      const parsed = parsePageQuery(request.query);
      if (!parsed.ok) return badRequest(parsed.error);
      return reply.json(200, { count: await countIndexed(env.INDEX_DB, parsed.value.filter) });
    })
    .get("/dead-letters", entriesRoute("dead"))
    .get("/quarantine", entriesRoute("quarantined"))
    .get("/accounts", async (request: IRequest, env: Env) => {
      const extra = unknownParameter(request, ["source", "cursor", "limit"]);
      if (extra !== undefined) return badRequest(extra);
      // The account cursor is checked on its own; source and limit as the event lists read them.
      const { cursor, ...rest } = request.query;
      const parsed = parsePageQuery(rest);
      if (!parsed.ok) return badRequest(parsed.error);
      if (cursor !== undefined && cursor !== "" && (typeof cursor !== "string" || decodeAccountCursor(cursor) === undefined)) {
        return badRequest("cursor is not one this API gave");
      }
      const given = typeof cursor === "string" && cursor !== "" ? cursor : undefined;
      return reply.json(200, await listAccounts(env.INDEX_DB, parsed.value.filter.source, given, parsed.value.limit));
    })
    .get("/index", async (_request: IRequest, env: Env, config: GatewayConfig) => {
      return reply.json(
        200,
        await indexState(env.INDEX_DB, Date.now(), { mode: config.indexMode, retentionDays: config.indexRetentionDays }),
      );
    });
}
