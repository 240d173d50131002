/**
 * The operator API under /admin/ (bearer token or console session, checked by src/auth/gate.ts).
 * Reference with curl examples: docs/operations.md. Every route answers JSON with `Cache-Control:
 * no-store` (answers carry payloads with personal data); errors are `{"error": "..."}` with
 * 400, 401, 403, 404, 409 or 503. Secrets never appear in any answer.
 */
import { type IRequest, Router } from "itty-router";
import { actionRoutes } from "./admin/actions";
import { destinationRoutes } from "./admin/destinations";
import { indexRoutes } from "./admin/index-routes";
import { overviewRoutes } from "./admin/overview";
import { type AdminArgs, decodeParams } from "./admin/params";
import { pauseRoutes } from "./admin/pause";
import { parseQuery } from "./admin/query";
import { toMillis } from "./admin-api/common";
import { AccountEventsQuery, ReplayQuery, ReprocessQuery } from "./admin-api/events";
import { attemptLimitErrors } from "./auth/attempts";
import { adminGate } from "./auth/gate";
import type { ConfigResult, GatewayConfig } from "./config";
import { eventId, ledgerFor, parseVerified, QUARANTINE_ACCOUNT, storeEvent } from "./ingress";
import { erasedAtText } from "./ledger/erase";
import { log } from "./log";
import { internalLedger } from "./object-names";
import { storageFailure } from "./platform-errors";
import { reply } from "./replies";
import { statsLedger } from "./stats";
import { isoOrNull, isoTime } from "./time";
import { toBase64 } from "./verify/crypto";

/** The schema each route here validates its query with: the one its OpenAPI operation shows (src/admin-api/). */
export const VALIDATES = {
  "get /admin/sources/{source}/accounts/{account}/events": { query: AccountEventsQuery },
  "post /admin/sources/{source}/accounts/{account}/replay": { query: ReplayQuery },
  "post /admin/sources/{source}/quarantine/reprocess": { query: ReprocessQuery },
} as const;

/**
 * Events per page of an account's list: each row carries its body (up to 256 KiB), all held in
 * the account's object and the Worker at once; larger `limit`s are cut to it.
 */
export const ACCOUNT_EVENTS_MAX = 100;

/**
 * Routes to a configured source's account ledger; 404 for an unknown source. Any account key
 * is an account, `~stats` included: internal objects have names no account maps to
 * (src/object-names.ts), and are reached only through their own routes.
 */
function accountLedger(request: IRequest, env: Env, config: GatewayConfig) {
  const source = config.sources.get(request.params.source ?? "");
  const account = request.params.account ?? "";
  if (source === undefined || account === "") return undefined;
  return { source, account, ledger: ledgerFor(env, source.name, account) };
}

/** An event row as operators see it: its CloudEvent parsed, timestamps as RFC 3339. */
function present(
  row: { body: string | null; received_at: number; next_attempt_at: number | null; delivered_at: number | null } & Record<string, unknown>,
) {
  const { body, received_at, next_attempt_at, delivered_at, ...rest } = row;
  return {
    ...rest,
    receivedAt: isoTime(received_at),
    nextAttemptAt: isoOrNull(next_attempt_at),
    deliveredAt: isoOrNull(delivered_at),
    event: body === null ? null : (JSON.parse(body) as unknown),
  };
}

export const adminRouter = Router<IRequest, AdminArgs, Response>({ base: "/admin" });

adminRouter
  .get("/counters", async (_request, env, config) => {
    const entries = await Promise.all(
      [...config.sources.keys()].map(async (name) => [name, await statsLedger(env, name).counters()] as const),
    );
    return reply.json(200, { sources: Object.fromEntries(entries) });
  })
  .get("/sources/:source/counters", decodeParams, async (request, env, config) => {
    if (!config.sources.has(request.params.source ?? "")) return reply.notFound();
    return reply.json(200, { source: request.params.source, counters: await statsLedger(env, request.params.source!).counters() });
  })
  .get("/sources/:source/accounts/:account/events", decodeParams, async (request, env, config) => {
    const target = accountLedger(request, env, config);
    if (target === undefined) return reply.notFound();
    const query = parseQuery(VALIDATES["get /admin/sources/{source}/accounts/{account}/events"].query, request);
    if (query instanceof Response) return query;
    const since = query.since === undefined ? undefined : toMillis(query.since);
    const rows = await target.ledger.events({
      limit: Math.min(query.limit ?? ACCOUNT_EVENTS_MAX, ACCOUNT_EVENTS_MAX),
      afterSeq: query.after ?? 0,
      ...(since !== undefined && { since }),
      ...(query.state && { state: query.state }),
    });
    const last = rows.at(-1);
    return reply.json(200, {
      source: target.source.name,
      account: target.account,
      events: rows.map(present),
      ...(last && { next: String(last.seq) }),
    });
  })
  .get("/sources/:source/accounts/:account/events/:id", decodeParams, async (request, env, config) => {
    const target = accountLedger(request, env, config);
    const found = target && (await target.ledger.event(request.params.id ?? ""));
    if (!found) return reply.notFound();
    const attempts = found.attempts.map((a) => ({ ...a, at: new Date(a.at).toISOString() }));
    return reply.json(200, { ...present(found.event), attempts, erasedAt: erasedAtText(found.event.reason) });
  })
  .post("/sources/:source/accounts/:account/events/:id/redeliver", decodeParams, async (request, env, config) => {
    const target = accountLedger(request, env, config);
    if (target === undefined) return reply.notFound();
    const result = await target.ledger.redeliver(request.params.id ?? "");
    if (result === "not_found") return reply.notFound();
    if (result === "not_redeliverable") return reply.json(409, { error: "not_redeliverable" });
    return reply.json(202, { status: "queued", id: request.params.id });
  })
  .post("/sources/:source/accounts/:account/replay", decodeParams, async (request, env, config) => {
    const target = accountLedger(request, env, config);
    if (target === undefined) return reply.notFound();
    const query = parseQuery(VALIDATES["post /admin/sources/{source}/accounts/{account}/replay"].query, request);
    if (query instanceof Response) return query;
    return reply.json(202, { status: "queued", events: await target.ledger.replay(toMillis(query.since) ?? 0) });
  })
  .get("/sources/:source/quarantine/:id", decodeParams, async (request, env, config) => {
    const source = config.sources.get(request.params.source ?? "");
    const quarantine = source && internalLedger(env, source.name, QUARANTINE_ACCOUNT);
    const found = quarantine && (await quarantine.event(request.params.id ?? ""));
    if (!found) return reply.notFound();
    const raw = await quarantine.raw(request.params.id ?? "");
    const signed = await quarantine.signed(request.params.id ?? "");
    const erasedAt = erasedAtText(found.event.reason);
    return reply.json(200, {
      ...present(found.event),
      rawBase64: raw === undefined ? null : toBase64(raw),
      signed: signed ?? null,
      erasedAt,
    });
  })
  .post("/sources/:source/quarantine/reprocess", decodeParams, async (request, env, config) => {
    // Runs quarantined callbacks through the current adapters and configuration (after an
    // upgrade or a fix). Each was verified when it arrived, and is read with the signed fields
    // kept from outside its body (Standard Webhooks' webhook-id), as ingress read it: one that
    // now normalizes gets the id a fresh delivery would, is claimed in its account's ledger like
    // any event (dedupe included: a second re-process or a provider's retry is a duplicate) and
    // leaves the quarantine.
    const source = config.sources.get(request.params.source ?? "");
    if (source === undefined) return reply.notFound();
    const query = parseQuery(VALIDATES["post /admin/sources/{source}/quarantine/reprocess"].query, request);
    if (query instanceof Response) return query;
    const quarantine = internalLedger(env, source.name, QUARANTINE_ACCOUNT);
    const results = [];
    // `after` pages past callbacks that still do not normalize, so they never hide later ones.
    const batch = await quarantine.quarantined(query.limit ?? 100, query.after ?? 0);
    for (const item of batch) {
      const parsed = parseVerified(source, item.raw, item.signed);
      if (parsed.kind === "quarantine") {
        results.push({ id: item.id, outcome: "still_quarantined", reason: parsed.reason });
        continue;
      }
      const eventIdOf = await eventId(source.name, parsed.normalized.accountKey, parsed.normalized.idempotencyKey);
      const { id, claim } = await storeEvent(env, source, eventIdOf, parsed.normalized, parsed.text, item.receivedAt);
      const outcome = claim.duplicate ? "duplicate" : "accepted";
      await quarantine.markReprocessed(item.id, `${outcome} as ${id}`);
      results.push({ id: item.id, outcome, eventId: id, account: parsed.normalized.accountKey });
    }
    const last = batch.at(-1);
    return reply.json(200, { source: source.name, results, ...(last && { next: String(last.seq) }) });
  });

// Route modules of their own (src/admin/*.ts) register here, before the catch-all.
actionRoutes(adminRouter);
indexRoutes(adminRouter);
overviewRoutes(adminRouter);
destinationRoutes(adminRouter);
pauseRoutes(adminRouter);
adminRouter.all("*", () => reply.notFound());

/**
 * GET /admin/health: what the public /healthz no longer shows. The configured sources with
 * their provider and how many secrets each has (never a value), whether the operator API is
 * on, or, when the configuration is invalid, every error (500). Works while the configuration
 * is invalid, as long as ADMIN_TOKEN itself is valid. A missing SIGNIN_LIMIT binding is listed
 * too, though nothing else stops for it (src/auth/attempts.ts).
 */
function health(loaded: ConfigResult, env: Env): Response {
  const errors = [...(loaded.ok ? [] : loaded.errors), ...attemptLimitErrors(env.SIGNIN_LIMIT)];
  if (!loaded.ok || errors.length > 0) return reply.json(500, { status: "invalid_config", admin: "enabled", errors });
  const sources = Object.fromEntries(
    [...loaded.config.sources.values()].map((s) => [s.name, { provider: s.provider.name, secrets: s.secrets.length + s.named.size }]),
  );
  return reply.json(200, { status: "ok", admin: "enabled", sources });
}

/** Routes an authenticated request. */
async function route(request: Request, env: Env, loaded: ConfigResult): Promise<Response> {
  if (new URL(request.url).pathname === "/admin/health")
    return request.method === "GET" ? health(loaded, env) : reply.methodNotAllowed("GET");
  // Every other route needs the configuration (sources, bindings): 503 until it is fixed.
  if (!loaded.ok) return reply.unavailable();
  try {
    return await adminRouter.fetch(request, env, loaded.config);
  } catch (err) {
    // A ledger or KV call failed: the operator gets a 503 to retry, the log says why.
    const failure = storageFailure(err);
    log("admin_error", { level: failure.level, method: request.method, path: new URL(request.url).pathname, ...failure.fields });
    return reply.unavailable(failure.retryAfterSeconds);
  }
}

/**
 * Entry point for /admin/*: the gate (Access, session routes, credentials, Origin, role), then
 * the route. The authentication settings are read even when the rest of the configuration is
 * invalid, so GET /admin/health can say what is wrong.
 */
export async function handleAdmin(request: Request, env: Env, loaded: ConfigResult): Promise<Response> {
  const started = Date.now();
  const gated = await adminGate(request, loaded.ok ? loaded.config.auth : loaded.auth, env.SIGNIN_LIMIT);
  const response = gated.response ?? (await route(request, env, loaded));
  // The audit trail of operator actions: who (actor, role, how), method, path, the query's
  // parameter names and outcome; never a token, a cookie or a query value.
  const url = new URL(request.url);
  log("admin", {
    method: request.method,
    path: url.pathname,
    // The parameter names only: values can be a provider reference or another search term.
    query: [...new Set(url.searchParams.keys())].join(","),
    status: response.status,
    authorized: gated.principal !== undefined,
    actor: gated.principal?.actor,
    role: gated.principal?.role,
    via: gated.principal?.via,
    ms: Date.now() - started,
  });
  return reply.adminAnswer(response);
}
