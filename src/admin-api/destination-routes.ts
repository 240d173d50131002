/** The operator API's routes for destinations (breaker, ceiling) and pauses: part of ./routes.ts. */
import { ErrorBody } from "./common";
import * as destinations from "./destinations";
import { ACCOUNT, type ApiRoute, ok, unknownAccount, unknownSource } from "./route-kit";

export const DESTINATION_ROUTES: readonly ApiRoute[] = [
  {
    method: "get",
    path: "/admin/destinations",
    tag: "destinations",
    summary: "Every destination with its breaker, ceiling and paused sources",
    responses: { 200: ok(destinations.DestinationList) },
  },
  {
    method: "get",
    path: "/admin/destinations/{destination}",
    tag: "destinations",
    summary: "One destination with its breaker's history",
    responses: { 200: ok(destinations.DestinationDetail), 404: { description: "Unknown destination.", schema: ErrorBody } },
  },
  {
    method: "post",
    path: "/admin/sources/{source}/pause",
    tag: "destinations",
    summary: "Pause a source's deliveries (ingest and acks go on)",
    responses: { 200: ok(destinations.SourcePause, "Paused (`changed` false: it was paused already)."), 404: unknownSource },
  },
  {
    method: "post",
    path: "/admin/sources/{source}/resume",
    tag: "destinations",
    summary: "Resume a source's deliveries, in order",
    responses: { 200: ok(destinations.SourcePause, "Resumed (`changed` false: it was not paused)."), 404: unknownSource },
  },
  {
    method: "get",
    path: `${ACCOUNT}/delivery`,
    tag: "destinations",
    summary: "Whether an account is paused, and why its outbox is held",
    responses: { 200: ok(destinations.AccountDelivery), 404: unknownAccount },
  },
  {
    method: "post",
    path: `${ACCOUNT}/pause`,
    tag: "destinations",
    summary: "Pause one account's deliveries (ingest and acks go on)",
    responses: { 200: ok(destinations.AccountPause, "Paused (`changed` false: it was paused already)."), 404: unknownAccount },
  },
  {
    method: "post",
    path: `${ACCOUNT}/resume`,
    tag: "destinations",
    summary: "Resume one account's deliveries, in order",
    responses: { 200: ok(destinations.AccountPause, "Resumed (`changed` false: it was not paused)."), 404: unknownAccount },
  },
];
