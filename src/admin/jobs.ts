/**
 * The bulk job routes (docs/operations.md "Bulk redeliver"): POST /admin/jobs checks the
 * operator's confirmed count against the index and starts a job in a Durable Object of its own
 * (src/jobs/BulkJob.ts); GET lists recent jobs (D1, src/jobs/registry.ts) or asks one job for
 * its progress; cancel stops it before its next event.
 */

import type { IRequest } from "itty-router";
import * as v from "valibot";
import { CreateJobBody } from "../admin-api/jobs";
import { withoutBlanks } from "../admin-api/parse";
import { countIndexed } from "../index-db/filter";
import { filterOf } from "../index-db/filter-query";
import type { JobSpec } from "../jobs/BulkJob";
import { jobKnown, recentJobs } from "../jobs/registry";
import { reply } from "../replies";
import { readBodyCapped } from "../request-body";
import { actorOf } from "./actor";
import { type AdminRouter, decodeParams } from "./params";

/** The schema the route validates its body with: the one its OpenAPI operation shows. */
export const VALIDATES = { "post /admin/jobs": { body: CreateJobBody } } as const;

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A job's body is a filter and a count: far below this. Larger bodies are refused unread (413). */
export const JOB_BODY_MAX_BYTES = 16 * 1024;

function jobObject(env: Env, id: string) {
  return env.JOBS.get(env.JOBS.idFromName(id));
}

/**
 * The object of a started job, or undefined: an id not in the registry (D1 `jobs`) is never
 * addressed, since addressing an object creates it (and its schema) for any well-formed id.
 */
async function knownJob(env: Env, id: string) {
  return JOB_ID.test(id) && (await jobKnown(env.INDEX_DB, id)) ? jobObject(env, id) : undefined;
}

/** An empty filter value means "any", as in the index's query parameters (a form's blank field sends one). */
function withoutBlankFilterFields(json: unknown): unknown {
  if (typeof json !== "object" || json === null || !("filter" in json)) return json;
  const { filter } = json as { filter: unknown };
  if (typeof filter !== "object" || filter === null || Array.isArray(filter)) return json;
  return { ...json, filter: withoutBlanks(filter as Record<string, unknown>) };
}

/** The body of POST /admin/jobs, validated with the schema the OpenAPI document shows; a message for a 400 otherwise. */
async function bodyOf(request: IRequest): Promise<{ ok: true; value: CreateJobBody } | { ok: false; error: string } | "too_large"> {
  const bytes = await readBodyCapped(request as unknown as Request, JOB_BODY_MAX_BYTES);
  if (bytes === "too_large") return bytes;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    // The caller's mistake, answered as such.
    return { ok: false, error: "the body must be JSON" };
  }
  const parsed = v.safeParse(VALIDATES["post /admin/jobs"].body, withoutBlankFilterFields(json));
  if (parsed.success) return { ok: true, value: parsed.output };
  const issue = parsed.issues[0];
  const path = issue?.path?.map((item) => String(item.key)).join(".");
  return { ok: false, error: `${path ? `${path}: ` : ""}${issue?.message ?? "invalid body"}` };
}

export function jobRoutes(router: AdminRouter): void {
  router
    .post("/jobs", async (request, env) => {
      const body = await bodyOf(request);
      if (body === "too_large") return reply.tooLarge();
      if (!body.ok) return reply.json(400, { error: body.error });
      // Validated with the body (CreateJobBody's filter is the index's IndexFilter); times as Unix ms.
      const filter = filterOf(body.value.filter);
      // The count the operator confirmed, taken again: anything changed since the preview is a
      // 409 with the new count, and nothing starts.
      const createdAt = Date.now();
      const count = await countIndexed(env.INDEX_DB, filter);
      if (count !== body.value.expect) return reply.json(409, { error: "count_changed", count });
      const id = crypto.randomUUID();
      const spec: JobSpec = {
        id,
        kind: body.value.kind,
        filter: body.value.filter,
        // Only events received before the job exists: new ones never join it.
        selection: { ...filter, to: Math.min(filter.to ?? createdAt, createdAt) },
        expected: count,
        createdBy: actorOf(request),
        createdAt,
      };
      return reply.json(202, { job: await jobObject(env, id).start(spec) });
    })
    .get("/jobs", async (_request, env) => reply.json(200, { jobs: await recentJobs(env.INDEX_DB) }))
    .get("/jobs/:id", decodeParams, async (request, env) => {
      const id = request.params.id ?? "";
      const job = await (await knownJob(env, id))?.job();
      return job === undefined ? reply.notFound() : reply.json(200, { job });
    })
    .post("/jobs/:id/cancel", decodeParams, async (request, env) => {
      const id = request.params.id ?? "";
      const job = await (await knownJob(env, id))?.cancel(actorOf(request));
      return job === undefined ? reply.notFound() : reply.json(200, { job });
    });
}
