/**
 * The operator API under /admin/ (bearer ADMIN_TOKEN, compared in constant time). Reference
 * with curl examples: docs/operations.md. Every route answers JSON; errors are
 * `{"error": "..."}` with 400, 401, 404 or 409. Secrets never appear in any answer.
 */
import { type IRequest, Router } from "itty-router";
import type { GatewayConfig } from "./config";
import { eventId, ledgerFor, parseVerified, QUARANTINE_ACCOUNT, storeEvent } from "./ingress";
import { log } from "./log";
import { listIndex } from "./ops-index";
import { reply } from "./replies";
import { statsLedger } from "./stats";
import { digest, timingSafeEqual, toBase64, utf8 } from "./verify/crypto";

type Args = [Env, GatewayConfig];

/** True when the request carries the admin bearer token. Hashing first makes both sides one length. */
export async function authorized(request: Request, token: string | undefined): Promise<boolean> {
  const header = request.headers.get("authorization") ?? "";
  if (token === undefined || !header.startsWith("Bearer ")) return false;
  const [given, expected] = await Promise.all([digest("SHA-256", utf8(header.slice(7))), digest("SHA-256", utf8(token))]);
  return timingSafeEqual(given, expected);
}

const badRequest = (message: string) => reply.json(400, { error: message });

function limitOf(request: IRequest, fallback = 100): number {
  const n = Number(request.query.limit ?? fallback);
  return Number.isInteger(n) && n > 0 ? Math.min(n, 1000) : fallback;
}

/** `since` as RFC 3339 or Unix milliseconds. */
function timeOf(value: unknown): number | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Routes to a configured source's account ledger; 404 for an unknown source. */
function accountLedger(request: IRequest, env: Env, config: GatewayConfig) {
  const source = config.sources.get(request.params.source ?? "");
  const account = request.params.account ?? "";
  if (source === undefined || account === "" || account.startsWith("~")) return undefined;
  return { source, account, ledger: ledgerFor(env, source.name, account) };
}

/** An event row as operators see it: its CloudEvent parsed, timestamps as RFC 3339. */
function present(
  row: { body: string | null; received_at: number; next_attempt_at: number | null; delivered_at: number | null } & Record<string, unknown>,
) {
  const { body, received_at, next_attempt_at, delivered_at, ...rest } = row;
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    ...rest,
    receivedAt: iso(received_at),
    nextAttemptAt: iso(next_attempt_at),
    deliveredAt: iso(delivered_at),
    event: body === null ? null : (JSON.parse(body) as unknown),
  };
}

export const adminRouter = Router<IRequest, Args, Response>({ base: "/admin" });

adminRouter
  .get("/counters", async (_request, env, config) => {
    const entries = await Promise.all(
      [...config.sources.keys()].map(async (name) => [name, await statsLedger(env, name).counters()] as const),
    );
    return reply.json(200, { sources: Object.fromEntries(entries) });
  })
  .get("/sources/:source/counters", async (request, env, config) => {
    if (!config.sources.has(request.params.source ?? "")) return reply.notFound();
    return reply.json(200, { source: request.params.source, counters: await statsLedger(env, request.params.source!).counters() });
  })
  .get("/sources/:source/accounts/:account/events", async (request, env, config) => {
    const target = accountLedger(request, env, config);
    if (target === undefined) return reply.notFound();
    const since = timeOf(request.query.since);
    if (request.query.since !== undefined && since === undefined) return badRequest("since must be RFC 3339 or Unix milliseconds");
    const afterSeq = Number(request.query.after ?? 0);
    const state = typeof request.query.state === "string" ? request.query.state : undefined;
    const rows = await target.ledger.events({
      limit: limitOf(request),
      afterSeq: Number.isInteger(afterSeq) ? afterSeq : 0,
      ...(since !== undefined && { since }),
      ...(state && { state }),
    });
    const last = rows.at(-1);
    return reply.json(200, {
      source: target.source.name,
      account: target.account,
      events: rows.map(present),
      ...(last && { next: String(last.seq) }),
    });
  })
  .get("/sources/:source/accounts/:account/events/:id", async (request, env, config) => {
    const target = accountLedger(request, env, config);
    const found = target && (await target.ledger.event(request.params.id ?? ""));
    if (!found) return reply.notFound();
    const attempts = found.attempts.map((a) => ({ ...a, at: new Date(a.at).toISOString() }));
    return reply.json(200, { ...present(found.event), attempts });
  })
  .post("/sources/:source/accounts/:account/events/:id/redeliver", async (request, env, config) => {
    const target = accountLedger(request, env, config);
    if (target === undefined) return reply.notFound();
    const result = await target.ledger.redeliver(request.params.id ?? "");
    if (result === "not_found") return reply.notFound();
    if (result === "not_redeliverable") return reply.json(409, { error: "not_redeliverable" });
    return reply.json(202, { status: "queued", id: request.params.id });
  })
  .post("/sources/:source/accounts/:account/replay", async (request, env, config) => {
    const target = accountLedger(request, env, config);
    if (target === undefined) return reply.notFound();
    const since = timeOf(request.query.since);
    if (since === undefined) return badRequest("since (RFC 3339 or Unix milliseconds) is required");
    return reply.json(202, { status: "queued", events: await target.ledger.replay(since) });
  })
  .get("/dead-letters", async (request, env) => {
    const source = typeof request.query.source === "string" ? request.query.source : undefined;
    const cursor = typeof request.query.cursor === "string" ? request.query.cursor : undefined;
    return reply.json(200, await listIndex(env.OPS_INDEX, "dead", source, cursor, limitOf(request)));
  })
  .get("/quarantine", async (request, env) => {
    const source = typeof request.query.source === "string" ? request.query.source : undefined;
    const cursor = typeof request.query.cursor === "string" ? request.query.cursor : undefined;
    return reply.json(200, await listIndex(env.OPS_INDEX, "quarantine", source, cursor, limitOf(request)));
  })
  .get("/sources/:source/quarantine/:id", async (request, env, config) => {
    const source = config.sources.get(request.params.source ?? "");
    const found = source && (await ledgerFor(env, source.name, QUARANTINE_ACCOUNT).event(request.params.id ?? ""));
    if (!found) return reply.notFound();
    const raw = await ledgerFor(env, source.name, QUARANTINE_ACCOUNT).raw(request.params.id ?? "");
    return reply.json(200, { ...present(found.event), rawBase64: raw === undefined ? null : toBase64(raw) });
  })
  .post("/sources/:source/quarantine/reprocess", async (request, env, config) => {
    // Runs quarantined callbacks through the current adapters (after an upgrade). Each was
    // verified when it arrived; one that now normalizes is claimed in its account's ledger
    // like any event (dedupe included) and leaves the quarantine.
    const source = config.sources.get(request.params.source ?? "");
    if (source === undefined) return reply.notFound();
    const quarantine = ledgerFor(env, source.name, QUARANTINE_ACCOUNT);
    const results = [];
    // `after` pages past callbacks that still do not normalize, so they never hide later ones.
    const after = Number(request.query.after ?? 0);
    const batch = await quarantine.quarantined(Math.min(limitOf(request, 100), 500), Number.isInteger(after) ? after : 0);
    for (const item of batch) {
      const parsed = parseVerified(source, item.raw);
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
  })
  .all("*", () => reply.notFound());

/** Entry point for /admin/*: authenticates, then routes. */
export async function handleAdmin(request: Request, env: Env, config: GatewayConfig): Promise<Response> {
  const started = Date.now();
  const ok = await authorized(request, config.adminToken);
  const response = ok ? await adminRouter.fetch(request, env, config) : reply.unauthorized();
  // The audit trail of operator actions: method, path and outcome; never the token.
  const url = new URL(request.url);
  log("admin", {
    method: request.method,
    path: url.pathname,
    query: url.search,
    status: response.status,
    authorized: ok,
    ms: Date.now() - started,
  });
  return response;
}
