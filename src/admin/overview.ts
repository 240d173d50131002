/**
 * The console's overview and rejected-requests routes (docs/operations.md): GET /admin/overview
 * (counts per 5-minute bucket and delivery latency per source) and GET /admin/rejections (recent
 * 4xx answers to requests that did not verify). Registered on the admin router by src/admin.ts.
 */
import type { IRequest } from "itty-router";
import { toMillis } from "../admin-api/common";
import { OverviewQuery, RejectionsQuery } from "../admin-api/operations";
import type { GatewayConfig } from "../config";
import { readOverview, readRejections } from "../overview/read";
import { BUCKET_MS } from "../overview/series";
import { reply } from "../replies";
import type { AdminRouter } from "./params";
import { parseQuery } from "./query";

/** The schema each route validates its query with: the one its OpenAPI operation shows. */
export const VALIDATES = {
  "get /admin/overview": { query: OverviewQuery },
  "get /admin/rejections": { query: RejectionsQuery },
} as const;

const HOUR_MS = 3_600_000;
/** The default window, and the longest (2,016 buckets a source): what a chart can show. */
const DEFAULT_WINDOW_MS = 24 * HOUR_MS;
const MAX_WINDOW_MS = 7 * 24 * HOUR_MS;

const badRequest = (message: string) => reply.json(400, { error: message });

/** Whether the index holds delivered events, so their latency can be read (INDEX_MODE). */
const indexesDelivered = (config: GatewayConfig) => config.indexMode === "all";

export function overviewRoutes(router: AdminRouter): void {
  router
    .get("/overview", async (request: IRequest, env, config) => {
      const query = parseQuery(VALIDATES["get /admin/overview"].query, request);
      if (query instanceof Response) return query;
      const now = Date.now();
      const since = query.since === undefined ? now - DEFAULT_WINDOW_MS : (toMillis(query.since) ?? now);
      if (since < now - MAX_WINDOW_MS) return badRequest("since must be within the last 7 days");
      if (since > now) return badRequest("since must not be in the future");
      const only = query.source;
      if (only !== undefined && !config.sources.has(only)) return reply.notFound();
      const sources = only === undefined ? [...config.sources.keys()] : [only];
      const overview = await readOverview(env.INDEX_DB, { sources, since, now, latency: indexesDelivered(config) });
      return reply.json(200, { bucketMs: BUCKET_MS, sources: overview });
    })
    .get("/rejections", async (request: IRequest, env) => {
      const query = parseQuery(VALIDATES["get /admin/rejections"].query, request);
      if (query instanceof Response) return query;
      // Any name: requests to sources that do not exist are listed under the name they used.
      return reply.json(200, { rejections: await readRejections(env.INDEX_DB, query.source, query.limit ?? 100) });
    });
}
