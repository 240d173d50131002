/**
 * The console's overview and rejected-requests routes (docs/operations.md): GET /admin/overview
 * (counts per 5-minute bucket and delivery latency per source) and GET /admin/rejections (recent
 * 4xx answers to requests that did not verify). Registered on the admin router by src/admin.ts.
 */
import type { IRequest } from "itty-router";
import type { GatewayConfig } from "../config";
import { readOverview, readRejections } from "../overview/read";
import { BUCKET_MS } from "../overview/series";
import { reply } from "../replies";
import type { AdminRouter } from "./params";

const HOUR_MS = 3_600_000;
/** The default window, and the longest (2,016 buckets a source): what a chart can show. */
const DEFAULT_WINDOW_MS = 24 * HOUR_MS;
const MAX_WINDOW_MS = 7 * 24 * HOUR_MS;

const badRequest = (message: string) => reply.json(400, { error: message });
const text = (value: unknown) => (typeof value === "string" && value !== "" ? value : undefined);

/** RFC 3339, or Unix milliseconds when digits only (as every operator route reads a time). */
function timeOf(value: string): number | undefined {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Whether the index holds delivered events, so their latency can be read (INDEX_MODE). */
const indexesDelivered = (config: GatewayConfig) => config.indexMode === "all";

export function overviewRoutes(router: AdminRouter): void {
  router
    .get("/overview", async (request: IRequest, env, config) => {
      const now = Date.now();
      const given = text(request.query.since);
      const since = given === undefined ? now - DEFAULT_WINDOW_MS : timeOf(given);
      if (since === undefined) return badRequest("since must be RFC 3339 or Unix milliseconds");
      if (since < now - MAX_WINDOW_MS) return badRequest("since must be within the last 7 days");
      if (since > now) return badRequest("since must not be in the future");
      const only = text(request.query.source);
      if (only !== undefined && !config.sources.has(only)) return reply.notFound();
      const sources = only === undefined ? [...config.sources.keys()] : [only];
      const overview = await readOverview(env.INDEX_DB, { sources, since, now, latency: indexesDelivered(config) });
      return reply.json(200, { bucketMs: BUCKET_MS, sources: overview });
    })
    .get("/rejections", async (request: IRequest, env) => {
      const n = Number(request.query.limit ?? 100);
      const limit = Number.isInteger(n) && n > 0 ? Math.min(n, 1000) : 100;
      // Any name: requests to sources that do not exist are listed under the name they used.
      return reply.json(200, { rejections: await readRejections(env.INDEX_DB, text(request.query.source), limit) });
    });
}
