/**
 * Who an operator action is recorded as having been done by (an erasure's `reason`, a bulk job's
 * `createdBy`). The operator API authenticates one bearer token, shared by every operator, so its
 * holder is "admin"; an identity set on the request by the authentication step (`actor`) is used
 * when there is one.
 */
import type { IRequest } from "itty-router";

export function actorOf(request: IRequest): string {
  const actor: unknown = request.actor;
  return typeof actor === "string" && actor !== "" ? actor : "admin";
}
