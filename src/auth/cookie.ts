/**
 * The session cookie as HTTP carries it. `__Host-` makes browsers refuse it unless it is
 * `Secure`, has `Path=/` and no `Domain` (no subdomain can set or read it); `HttpOnly` keeps it
 * from scripts; `SameSite=Strict` keeps it off requests started by other sites.
 */
export const SESSION_COOKIE = "__Host-wg_session";

const ATTRIBUTES = "Path=/; HttpOnly; Secure; SameSite=Strict";

/** The Set-Cookie value that stores a session for `maxAgeSeconds`. */
export function setSessionCookie(value: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${value}; ${ATTRIBUTES}; Max-Age=${maxAgeSeconds}`;
}

/** The Set-Cookie value that removes the session from the browser. */
export const CLEAR_SESSION_COOKIE = `${SESSION_COOKIE}=; ${ATTRIBUTES}; Max-Age=0`;

/** The session cookie's value in the request's Cookie header (the first, if sent twice). */
export function sessionCookieOf(request: Request): string | undefined {
  for (const pair of (request.headers.get("cookie") ?? "").split(";")) {
    const at = pair.indexOf("=");
    if (at !== -1 && pair.slice(0, at).trim() === SESSION_COOKIE) return pair.slice(at + 1).trim();
  }
  return undefined;
}
