/**
 * What every operator route module shares (src/admin.ts and the modules that register their
 * routes on its router, src/admin/*.ts): the router's type and the path-parameter decoding. A
 * leaf module, so route modules never import src/admin.ts (which imports them: no cycle).
 */
import type { IRequest, RouterType } from "itty-router";
import type { GatewayConfig } from "../config";
import { reply } from "../replies";

export type AdminArgs = [Env, GatewayConfig];
export type AdminRouter = RouterType<IRequest, AdminArgs, Response>;

/**
 * Route middleware: percent-decodes the path parameters (itty-router leaves them encoded), so
 * an account id with a space, `/`, `%` or `+` names its own account. A malformed escape is the
 * caller's error (400), never an exception.
 */
export function decodeParams(request: IRequest, ..._args: AdminArgs): Response | undefined {
  for (const [name, value] of Object.entries(request.params)) {
    try {
      request.params[name] = decodeURIComponent(value);
    } catch {
      // The caller's mistake, answered as such; the audit line records the path.
      return reply.json(400, { error: "malformed percent-encoding in the path" });
    }
  }
  return undefined;
}
