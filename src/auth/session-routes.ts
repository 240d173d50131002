/**
 * /admin/session: the console's sign-in (POST), who is signed in (GET), and sign-out (DELETE).
 * Sign-in takes a token once and answers with the session cookie; a wrong token is a plain 401
 * that says nothing of what was wrong. Each sign-in's token, right or wrong, spends from its
 * client's budget of attempts (src/auth/attempts.ts): 429 once it is spent.
 */
import * as v from "valibot";
import { SessionBody } from "../admin-api/operations";
import { reply } from "../replies";
import { readBodyCapped } from "../request-body";
import { fromUtf8 } from "../verify/crypto";
import { spendAttempt } from "./attempts";
import { CLEAR_SESSION_COOKIE, sessionCookieOf, setSessionCookie } from "./cookie";
import { sameOrigin } from "./origin";
import type { Principal } from "./principal";
import { issueSession, readSession } from "./session";
import type { AuthSettings } from "./settings";
import { roleOfToken } from "./tokens";

/** What the admin gate answers: a response to send as is, and who asked when that is known. */
export interface Gated {
  readonly response?: Response;
  readonly principal?: Principal;
}

// A sign-in body is a token and a short name: anything larger is not one.
const SIGN_IN_BODY_LIMIT = 4096;

/** The schema sign-in validates its body with: the one its OpenAPI operation shows. */
export const VALIDATES = { "post /admin/session": { body: SessionBody } } as const;

const BAD_BODY = 'the body must be JSON {"token": "...", "name": "..."}; name is optional, 1 to 64 printable characters';

export const originMismatch = () => reply.json(403, { error: "origin_mismatch" });

async function signInBody(request: Request): Promise<v.InferOutput<typeof SessionBody> | Response> {
  const bytes = await readBodyCapped(request, SIGN_IN_BODY_LIMIT);
  if (bytes === "too_large") return reply.tooLarge();
  const text = fromUtf8(bytes);
  let json: unknown;
  try {
    json = text === undefined ? undefined : JSON.parse(text);
  } catch {
    // Not JSON: the caller's mistake, answered with the shape expected.
    return reply.json(400, { error: BAD_BODY });
  }
  const parsed = v.safeParse(VALIDATES["post /admin/session"].body, json);
  return parsed.success ? parsed.output : reply.json(400, { error: BAD_BODY });
}

async function signIn(request: Request, auth: AuthSettings, identity: string | undefined, limiter: RateLimit | undefined): Promise<Gated> {
  // A browser always sends Origin with a POST: another site's page must not sign it in. Scripts
  // (no Origin) may sign in; they usually send the bearer token instead.
  if (request.headers.has("origin") && !sameOrigin(request)) return { response: originMismatch() };
  const body = await signInBody(request);
  if (body instanceof Response) return { response: body };
  const refused = await spendAttempt(request, limiter);
  if (refused !== undefined) return { response: refused };
  const role = await roleOfToken(body.token, auth);
  if (role === undefined) return { response: reply.bearerChallenge() };
  const actor = body.name ?? identity ?? (role === "admin" ? "token" : "read-token");
  const exp = Math.floor(Date.now() / 1000) + auth.sessionTtlSeconds;
  const value = await issueSession(auth, { actor, role, exp });
  return {
    response: new Response(null, { status: 204, headers: { "set-cookie": setSessionCookie(value, auth.sessionTtlSeconds) } }),
    principal: { actor: identity ?? actor, role, via: "sign-in" },
  };
}

/** The session the request's cookie holds, if valid now. */
export async function cookieSession(request: Request, auth: AuthSettings) {
  const value = sessionCookieOf(request);
  return value === undefined ? undefined : readSession(value, auth, Date.now());
}

/** Answers /admin/session; `identity` is the Cloudflare Access identity when Access is on, `limiter` the SIGNIN_LIMIT binding. */
export async function sessionRoute(
  request: Request,
  auth: AuthSettings,
  identity: string | undefined,
  limiter: RateLimit | undefined,
): Promise<Gated> {
  if (request.method === "POST") return signIn(request, auth, identity, limiter);
  if (request.method !== "GET" && request.method !== "DELETE") return { response: reply.methodNotAllowed("GET, POST, DELETE") };
  const session = await cookieSession(request, auth);
  const principal = session && ({ actor: identity ?? session.actor, role: session.role, via: "session" } as const);
  if (request.method === "GET") {
    if (session === undefined || principal === undefined) return { response: reply.bearerChallenge() };
    const expiresAt = new Date(session.exp * 1000).toISOString();
    return { response: reply.json(200, { actor: session.actor, role: session.role, expiresAt }), principal };
  }
  // DELETE: a sign-out sent with the cookie follows the Origin rule like any change; it always
  // clears the cookie, valid or not (an expired one is dropped all the same).
  if (sessionCookieOf(request) !== undefined && !sameOrigin(request))
    return { response: originMismatch(), ...(principal && { principal }) };
  return {
    response: new Response(null, { status: 204, headers: { "set-cookie": CLEAR_SESSION_COOKIE } }),
    ...(principal && { principal }),
  };
}
