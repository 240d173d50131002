/**
 * Operators' actions on stored events (docs/operations.md): erase an event's payload, or a
 * quarantined callback's, keeping its identity; bulk jobs (./jobs.ts); the OpenAPI document.
 * Registered on the admin router by src/admin.ts.
 */
import type { IRequest } from "itty-router";
import openapi from "../../schema/openapi.json" with { type: "json" };
import { ledgerFor, QUARANTINE_ACCOUNT } from "../ingress";
import type { EraseResult } from "../ledger/erase";
import { internalLedger } from "../object-names";
import { reply } from "../replies";
import { actorOf } from "./actor";
import { eraseFromIndex } from "./erase-index";
import { jobRoutes } from "./jobs";
import { type AdminRouter, decodeParams } from "./params";

/**
 * The answer to an erasure: 200 `{id, erasedAt}` once the ledger and the index are cleared, 404,
 * or 409 while the event is pending. A failed index call throws (503): erasing again is harmless,
 * and the operator's retry clears the index too.
 */
async function erased(env: Env, id: string, result: EraseResult): Promise<Response> {
  if (result === "not_found") return reply.notFound();
  if (result === "not_erasable") return reply.json(409, { error: "not_erasable" });
  await eraseFromIndex(env.INDEX_DB, id);
  return reply.json(200, { id, erasedAt: new Date(result.erasedAt).toISOString() });
}

export function actionRoutes(router: AdminRouter): void {
  router
    .post("/sources/:source/accounts/:account/events/:id/erase", decodeParams, async (request: IRequest, env, config) => {
      const source = config.sources.get(request.params.source ?? "");
      const { account = "", id = "" } = request.params;
      if (source === undefined || account === "") return reply.notFound();
      return erased(env, id, await ledgerFor(env, source.name, account).erase(id, actorOf(request)));
    })
    .post("/sources/:source/quarantine/:id/erase", decodeParams, async (request: IRequest, env, config) => {
      const source = config.sources.get(request.params.source ?? "");
      const id = request.params.id ?? "";
      if (source === undefined) return reply.notFound();
      return erased(env, id, await internalLedger(env, source.name, QUARANTINE_ACCOUNT).erase(id, actorOf(request)));
    });
  jobRoutes(router);
  // The OpenAPI document of this API, generated from src/admin-api/ (`npm run schema`). Behind
  // the same gate as every admin route (docs/operations.md "OpenAPI").
  router.get("/openapi.json", () => reply.json(200, openapi));
}
