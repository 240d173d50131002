/**
 * Pause and resume (docs/operations.md "Pause and resume"): a source's deliveries, kept by its
 * destination's object (`pauseSource`/`resumeSource`), or one account's, kept by the account's
 * ledger object (`pause`/`resume`, and `delivery` to read it). Ingest and acks never look at
 * either. Each answer says whether anything `changed` (200 either way: pausing a paused source
 * is not an error); each change is logged with who made it, beside the `admin` audit line.
 * Registered on the admin router by src/admin.ts.
 */
import type { IRequest } from "itty-router";
import { principalOf } from "../auth/principal";
import type { GatewayConfig } from "../config";
import { ledgerFor } from "../ingress";
import { log } from "../log";
import { reply } from "../replies";
import { isoOrNull } from "../time";
import { actorOf } from "./actor";
import { destinationObject } from "./destinations";
import { type AdminRouter, decodeParams } from "./params";

type Action = "pause" | "resume";

/** One line per state change asked for, naming who asked and whether it changed anything. */
function logChange(request: IRequest, fields: { action: Action; source: string; account?: string; changed: boolean }): void {
  const principal = principalOf(request);
  log("admin_pause", { ...fields, actor: actorOf(request), role: principal?.role, via: principal?.via });
}

function sourceAction(action: Action) {
  return async (request: IRequest, env: Env, config: GatewayConfig) => {
    const source = config.sources.get(request.params.source ?? "");
    if (source === undefined) return reply.notFound();
    const object = destinationObject(env, source.destination.id);
    const actor = actorOf(request);
    const result = action === "pause" ? await object.pauseSource(source.name, actor) : await object.resumeSource(source.name, actor);
    logChange(request, { action, source: source.name, changed: result.changed });
    return reply.json(200, { source: source.name, paused: result.paused, changed: result.changed });
  };
}

/** The configured source and the account's ledger; undefined for an unknown source or an empty account. */
function accountOf(request: IRequest, env: Env, config: GatewayConfig) {
  const source = config.sources.get(request.params.source ?? "");
  const account = request.params.account ?? "";
  if (source === undefined || account === "") return undefined;
  return { source: source.name, account, ledger: ledgerFor(env, source.name, account) };
}

function accountAction(action: Action) {
  return async (request: IRequest, env: Env, config: GatewayConfig) => {
    const target = accountOf(request, env, config);
    if (target === undefined) return reply.notFound();
    const actor = actorOf(request);
    const result = action === "pause" ? await target.ledger.pause(actor) : await target.ledger.resume(actor);
    logChange(request, { action, source: target.source, account: target.account, changed: result.changed });
    return reply.json(200, { source: target.source, account: target.account, paused: result.paused, changed: result.changed });
  };
}

export function pauseRoutes(router: AdminRouter): void {
  router
    .post("/sources/:source/pause", decodeParams, sourceAction("pause"))
    .post("/sources/:source/resume", decodeParams, sourceAction("resume"))
    .post("/sources/:source/accounts/:account/pause", decodeParams, accountAction("pause"))
    .post("/sources/:source/accounts/:account/resume", decodeParams, accountAction("resume"))
    .get("/sources/:source/accounts/:account/delivery", decodeParams, async (request, env, config) => {
      const target = accountOf(request, env, config);
      if (target === undefined) return reply.notFound();
      const delivery = await target.ledger.delivery();
      return reply.json(200, {
        source: target.source,
        account: target.account,
        paused: delivery.paused,
        pausedAt: isoOrNull(delivery.pausedAt),
        pausedBy: delivery.pausedBy,
        held: delivery.held,
        heldSince: isoOrNull(delivery.heldSince),
      });
    });
}
