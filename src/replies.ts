/** Every HTTP reply the gateway makes, in one place. Callers never learn why a request failed. */

const JSON_TYPE = "application/json; charset=utf-8";

function json(status: number, body: unknown, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": JSON_TYPE, ...headers } });
}

export const reply = {
  ack: (ack: { body: string; contentType: string }) =>
    new Response(ack.body, { status: 200, headers: { "content-type": ack.contentType } }),
  unauthorized: () => json(401, { error: "unauthorized" }),
  notFound: () => json(404, { error: "not_found" }),
  forbidden: () => json(403, { error: "forbidden" }),
  methodNotAllowed: (allow: string) => json(405, { error: "method_not_allowed" }, { allow }),
  tooLarge: () => json(413, { error: "payload_too_large" }, { connection: "close" }),
  unavailable: () => json(503, { error: "unavailable" }, { "retry-after": "30" }),
  json,
};
