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
 * The same response with `Cache-Control: no-store`: operator answers carry payloads with
 * personal data, which no browser or proxy cache may keep.
 */
function noStore(response: Response): Response {
  const headers = new Headers(response.headers);
  headers.set("cache-control", "no-store");
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
  noStore,
};
