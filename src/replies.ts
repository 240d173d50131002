/** Every HTTP reply the gateway makes, in one place. Callers never learn why a request failed. */

const JSON_TYPE = "application/json; charset=utf-8";
const TEXT_TYPE = "text/plain; charset=utf-8";

/** Seconds a provider is asked to wait after a 503 when nothing more specific is known. */
export const DEFAULT_RETRY_AFTER_SECONDS = 30;

function json(status: number, body: unknown, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": JSON_TYPE, ...headers } });
}

function text(status: number, body: string, headers: HeadersInit = {}): Response {
  return new Response(body, { status, headers: { "content-type": TEXT_TYPE, ...headers } });
}

/**
 * An operator answer as sent: `Cache-Control: no-store` (it carries payloads with personal data,
 * which no browser or proxy cache may keep); `nosniff` and a Content-Security-Policy that loads
 * nothing and allows no framing, so a payload in a JSON answer opened in a tab or a frame is
 * never run as a page.
 */
function adminAnswer(response: Response): Response {
  const headers = new Headers(response.headers);
  headers.set("cache-control", "no-store");
  headers.set("x-content-type-options", "nosniff");
  headers.set("content-security-policy", "default-src 'none'; frame-ancestors 'none'");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

export const reply = {
  ack: (ack: { body: string; contentType: string }) =>
    new Response(ack.body, { status: 200, headers: { "content-type": ack.contentType } }),
  unauthorized: () => json(401, { error: "unauthorized" }),
  /** The operator API's 401: the challenge HTTP requires with it, naming the scheme it takes. */
  bearerChallenge: () => json(401, { error: "unauthorized" }, { "www-authenticate": 'Bearer realm="webhook-gateway admin"' }),
  notFound: () => json(404, { error: "not_found" }),
  forbidden: () => json(403, { error: "forbidden" }),
  methodNotAllowed: (allow: string) => json(405, { error: "method_not_allowed" }, { allow }),
  tooLarge: () => json(413, { error: "payload_too_large" }, { connection: "close" }),
  /** Nothing was acked: the provider retries, after `retryAfterSeconds` if it honours the header. */
  unavailable: (retryAfterSeconds: number = DEFAULT_RETRY_AFTER_SECONDS) =>
    json(503, { error: "unavailable" }, { "retry-after": String(retryAfterSeconds) }),
  /** The public health check: `ok` or `not ok`, nothing else (details are at GET /admin/health). */
  health: (ok: boolean) => text(ok ? 200 : 500, ok ? "ok" : "not ok", { "cache-control": "no-store" }),
  json,
  adminAnswer,
};
