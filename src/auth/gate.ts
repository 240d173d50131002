/**
 * The admin gate: everything /admin/* checks before a route runs, in this order.
 * 1. Cloudflare Access, when configured (403).
 * 2. /admin/session answers itself (sign-in, who, sign-out).
 * 3. Credentials: an `Authorization` header, when sent, alone decides (bearer token, scripts);
 *    otherwise the session cookie (the console). Neither valid: 401 with the Bearer challenge.
 *    A bearer token, right or wrong, spends from its client's budget of attempts (429 once it
 *    is spent, src/auth/attempts.ts), as a sign-in's token does.
 * 4. A state-changing request (not GET or HEAD) made with the cookie must carry the gateway's
 *    own Origin (403 origin_mismatch); bearer requests need none (a browser never adds one).
 * 5. The read role may not change state (403 read_only).
 */

import { reply } from "../replies";
import { checkAccess } from "./access";
import { spendAttempt } from "./attempts";
import { sameOrigin } from "./origin";
import { isStateChanging, type Principal, rememberPrincipal } from "./principal";
import { cookieSession, type Gated, originMismatch, sessionRoute } from "./session-routes";
import type { AuthSettings } from "./settings";
import { bearerToken, roleOfToken } from "./tokens";

export const SESSION_PATH = "/admin/session";

const readOnly = () => reply.json(403, { error: "read_only" });

/** Who the request's credentials name, before the Access identity is applied; or the 429 of a spent budget. */
async function authenticate(
  request: Request,
  auth: AuthSettings,
  limiter: RateLimit | undefined,
): Promise<Principal | Response | undefined> {
  if (request.headers.has("authorization")) {
    const token = bearerToken(request);
    if (token === undefined) return undefined;
    const refused = await spendAttempt(request, limiter);
    if (refused !== undefined) return refused;
    const role = await roleOfToken(token, auth);
    return role && { actor: role === "admin" ? "token" : "read-token", role, via: "bearer" };
  }
  const session = await cookieSession(request, auth);
  return session && { actor: session.actor, role: session.role, via: "session" };
}

/**
 * Runs the gate; `limiter` is the SIGNIN_LIMIT binding (undefined when the deployment lacks it).
 * With a `response`, the request ends there (its `principal`, when known, is for
 * the audit line); without one, the route runs, and `principalOf(request)` returns the caller.
 */
export async function adminGate(request: Request, auth: AuthSettings, limiter: RateLimit | undefined): Promise<Gated> {
  const access = await checkAccess(request, auth);
  if (access instanceof Response) return { response: access };
  if (new URL(request.url).pathname === SESSION_PATH) return sessionRoute(request, auth, access.identity, limiter);
  const credentials = await authenticate(request, auth, limiter);
  if (credentials instanceof Response) return { response: credentials };
  if (credentials === undefined) return { response: reply.bearerChallenge() };
  // Behind Access, the person Access verified is the actor, whatever credential they used.
  const principal = access.identity === undefined ? credentials : { ...credentials, actor: access.identity };
  if (isStateChanging(request.method)) {
    if (principal.via === "session" && !sameOrigin(request)) return { response: originMismatch(), principal };
    if (principal.role === "read") return { response: readOnly(), principal };
  }
  rememberPrincipal(request, principal);
  return { principal };
}
