/**
 * The Origin rule for cookie-authenticated requests. A browser sends the session cookie with
 * every request to the gateway, so a cookie alone must never change anything: a state-changing
 * request must also carry an `Origin` header naming the gateway's own origin, which another
 * site's page cannot forge (browsers set it; `SameSite=Strict` is the first line, this the second).
 */

/** True when the request's `Origin` is exactly its own URL's origin (a missing or `null` Origin is not). */
export function sameOrigin(request: Request): boolean {
  const origin = request.headers.get("origin");
  return origin !== null && origin === new URL(request.url).origin;
}
