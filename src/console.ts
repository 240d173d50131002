/**
 * The operator console at /console/: static files built from console/ by
 * scripts/build-console.mjs into dist/assets/console/ and bound as ASSETS (wrangler.toml
 * `[assets]`, Worker first, so nothing is served without this module). Every answer carries a
 * Content-Security-Policy that lets the page run only its own script and styles and talk only to
 * this origin, and is never framed; payloads the page shows are attacker-controlled text
 * (docs/console.md, "Security model"). The page holds no secret: it signs in through
 * /admin/session and the API answers by cookie.
 */
import { accessCheck } from "./auth/access";
import { reply } from "./replies";

export const CONSOLE_PATH = "/console/";

/** The policy every console answer carries (docs/console.md explains each directive). */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join("; ");

/** Scripts and styles named by a hash of their content never change: a year, without a check. */
const HASHED = /\.[0-9a-f]{12}\.(?:js|css)$/;
const IMMUTABLE = "public, max-age=31536000, immutable";
/** index.html names the current hashed files: checked on every load, so a deploy is picked up. */
const REVALIDATE = "no-cache";

/** The console's security headers on a response; `cacheControl` replaces any the response had. */
function secured(response: Response, cacheControl: string): Response {
  const headers = new Headers(response.headers);
  headers.set("content-security-policy", CONSOLE_CSP);
  headers.set("x-content-type-options", "nosniff");
  headers.set("referrer-policy", "no-referrer");
  headers.set("cache-control", cacheControl);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/**
 * Serves a /console or /console/* request from the built assets, once Cloudflare Access (when
 * configured) has let it through: the page is no secret, but behind Access nobody outside the
 * team learns even which gateway this is. `/console` redirects to
 * `/console/` (the page's relative script and style paths need the slash); a path with no file
 * is the gateway's usual 404, never the page (no single-page fallback: views are in the hash).
 */
export async function serveConsole(request: Request, env: Env): Promise<Response> {
  const access = await accessCheck(request, env);
  if (access instanceof Response) return secured(access, "no-store");
  const url = new URL(request.url);
  if (request.method !== "GET" && request.method !== "HEAD") return secured(reply.methodNotAllowed("GET, HEAD"), "no-store");
  if (url.pathname === "/console") {
    return secured(new Response(null, { status: 308, headers: { location: `${CONSOLE_PATH}${url.search}` } }), REVALIDATE);
  }
  const asset = await env.ASSETS.fetch(request);
  if (asset.status === 404) return secured(reply.notFound(), "no-store");
  return secured(asset, HASHED.test(url.pathname) ? IMMUTABLE : REVALIDATE);
}
