/**
 * The destinations routes (docs/operations.md "Origin protection"): every configured destination
 * with its breaker, ceiling and paused sources, and one with its breaker's history. Read from
 * each destination's Durable Object (`status()`), one call per destination. Registered on the
 * admin router by src/admin.ts.
 */
import type { IRequest } from "itty-router";
import type { GatewayConfig } from "../config";
import type { DestinationConfig } from "../destinations";
import { reply } from "../replies";
import { presentDestination, presentDestinationDetail } from "./destination-view";
import { type AdminRouter, decodeParams } from "./params";

/** The object guarding a destination: named by its id (src/destinations.ts). */
export function destinationObject(env: Env, id: string) {
  return env.DESTINATIONS.get(env.DESTINATIONS.idFromName(id));
}

async function statusOf(env: Env, destination: DestinationConfig) {
  return destinationObject(env, destination.id).status();
}

export function destinationRoutes(router: AdminRouter): void {
  router
    .get("/destinations", async (_request: IRequest, env, config: GatewayConfig) => {
      const list = [...config.destinations.values()];
      const statuses = await Promise.all(list.map((destination) => statusOf(env, destination)));
      const window = config.breakerWindowSeconds;
      return reply.json(200, { destinations: list.map((destination, i) => presentDestination(destination, statuses[i]!, window)) });
    })
    .get("/destinations/:destination", decodeParams, async (request: IRequest, env, config: GatewayConfig) => {
      // Only configured ids: addressing an object creates it, so an unknown id is never addressed.
      const destination = config.destinations.get(request.params.destination ?? "");
      if (destination === undefined) return reply.notFound();
      return reply.json(200, presentDestinationDetail(destination, await statusOf(env, destination), config.breakerWindowSeconds));
    });
}
