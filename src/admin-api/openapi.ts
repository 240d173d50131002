/**
 * The OpenAPI 3.1 document of the operator API, generated from the valibot schemas the routes
 * use (./routes.ts): `npm run schema` writes it to schema/openapi.json, which the Worker serves
 * at GET /admin/openapi.json. Not part of the Worker bundle (it needs @valibot/to-json-schema):
 * test/node/openapi.test.ts fails when the committed file and this disagree.
 */
import { type ConversionConfig, type JsonSchema, toJsonSchema, toJsonSchemaDefs } from "@valibot/to-json-schema";
import type * as v from "valibot";
import { ErrorBody } from "./common";
import * as destinations from "./destinations";
import * as events from "./events";
import * as jobs from "./jobs";
import { type ApiRoute, ROUTES } from "./routes";

/** Schemas named once under components.schemas and referenced wherever they appear. */
const COMPONENTS: Record<string, v.GenericSchema> = {
  Error: ErrorBody,
  EventRow: events.EventRow,
  Attempt: events.Attempt,
  EventDetail: events.EventDetail,
  Erased: events.Erased,
  Destination: destinations.Destination,
  IndexFilter: events.IndexFilter,
  IndexRow: events.IndexRow,
  Job: jobs.Job,
  CountChanged: jobs.CountChanged,
};

const CONVERSION: ConversionConfig = {
  target: "draft-2020-12",
  // Queries are documented as sent (text): a pipeline is converted up to its first transformation.
  typeMode: "input",
  errorMode: "throw",
  // Checks (a time that parses, `from` before `to`) are the routes' own; the document states them in words.
  ignoreActions: ["check"],
  definitions: COMPONENTS,
  overrideRef: ({ referenceId }) => `#/components/schemas/${referenceId}`,
};

/** One schema, its shared parts as references to components. */
function jsonSchema(schema: v.GenericSchema): JsonSchema {
  const { $schema: _draft, $defs: _defs, ...rest } = toJsonSchema(schema, CONVERSION);
  return rest;
}

const PATH_PARAMETERS: Record<string, string> = {
  source: "A configured source's name.",
  account: "The account key (the CloudEvent `subject`), URL-encoded.",
  id: "The event's id (evt_…), or for /admin/jobs the job's id (a UUID).",
  destination: "A destination's id (16 hex digits, GET /admin/destinations).",
};

function parameters(route: ApiRoute): object[] {
  const inPath = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: "path",
    required: true,
    description: PATH_PARAMETERS[name ?? ""],
    schema: { type: "string" },
  }));
  const inQuery = Object.entries(route.query?.entries ?? {}).map(([name, entry]) => {
    const { description, ...schema } = jsonSchema(entry);
    return { name, in: "query", required: entry.type !== "optional", ...(description !== undefined && { description }), schema };
  });
  return [...inPath, ...inQuery];
}

/** `get /admin/sources/{source}/counters` → `getSourcesSourceCounters`. */
function operationId(route: ApiRoute): string {
  const words = route.path
    .replace(/^\/admin\//, "")
    .split(/[^A-Za-z0-9]+/)
    .filter((word) => word !== "");
  return route.method + words.map((word) => word[0]!.toUpperCase() + word.slice(1)).join("");
}

function operation(route: ApiRoute): object {
  const responses = Object.fromEntries(
    Object.entries(route.responses).map(([status, answer]) => [
      status,
      {
        description: answer.description,
        ...(answer.schema !== undefined && { content: { "application/json": { schema: jsonSchema(answer.schema) } } }),
      },
    ]),
  );
  // What the admin gate (src/auth/gate.ts) may answer before any route, and a failed storage call.
  // 429 only where a token is presented: GET and DELETE /admin/session read the cookie alone.
  const presentsToken = route.path !== "/admin/session" || route.method === "post";
  const shared = Object.fromEntries(
    Object.entries({ 401: "Unauthorized", 403: "Forbidden", ...(presentsToken && { 429: "TooManyAttempts" }), 503: "Unavailable" }).map(
      ([status, name]) => [status, { $ref: `#/components/responses/${name}` }],
    ),
  );
  return {
    tags: [route.tag],
    summary: route.summary,
    operationId: operationId(route),
    ...(route.path === "/admin/session" && route.method === "post" && { security: [] }),
    parameters: parameters(route),
    ...(route.body !== undefined && {
      requestBody: { required: true, content: { "application/json": { schema: jsonSchema(route.body) } } },
    }),
    responses: { ...shared, ...responses },
  };
}

export function adminOpenApi(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, object>> = {};
  for (const route of ROUTES) {
    const byMethod = paths[route.path] ?? {};
    byMethod[route.method] = operation(route);
    paths[route.path] = byMethod;
  }
  const { definitions: _named, ...defsConversion } = CONVERSION;
  const components = toJsonSchemaDefs(COMPONENTS, defsConversion);
  return {
    openapi: "3.1.0",
    info: {
      title: "webhook-gateway operator API",
      version,
      description:
        "The operator API under /admin/ (docs/operations.md). Every answer is JSON with Cache-Control: no-store. Scripts send `Authorization: Bearer <ADMIN_TOKEN>`; the console signs in once and sends its session cookie (with an Origin header on every state-changing request).",
    },
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    servers: [{ url: "/" }],
    security: [{ bearer: [] }, { session: [] }],
    tags: [
      { name: "events", description: "One account's events and the actions on them." },
      { name: "index", description: "The operators' index across accounts (D1)." },
      { name: "quarantine", description: "Verified callbacks the adapters could not read." },
      { name: "jobs", description: "Bulk actions, run server-side by a Durable Object." },
      { name: "destinations", description: "Origin protection: each destination's breaker and ceiling; pause and resume." },
      { name: "operations", description: "Health, counters, overview, rejected requests." },
      { name: "session", description: "The console's sign-in." },
    ],
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "ADMIN_TOKEN, or the read-only token (GET only)." },
        session: { type: "apiKey", in: "cookie", name: "__Host-wg_session", description: "The console's session (POST /admin/session)." },
      },
      responses: {
        Unauthorized: {
          description: "Missing or wrong credentials.",
          content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
        },
        Forbidden: {
          description:
            "`forbidden` (no valid Cloudflare Access token, when Access is configured), `origin_mismatch` (a session request that changes state without the gateway's own Origin), `read_only` (the read role asked for a change).",
          content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
        },
        TooManyAttempts: {
          description:
            "`too_many_attempts`: this client (IP address, IPv6 /64) presented a token, right or wrong, in more requests this minute than SIGNIN_LIMIT allows (600 as shipped): every request with a token is refused, the right one included, until Retry-After.",
          headers: { "Retry-After": { description: "Seconds to wait: 60.", schema: { type: "integer", const: 60 } } },
          content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
        },
        Unavailable: {
          description: "The configuration is invalid, or a storage call failed: retry (Retry-After).",
          content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
        },
      },
    },
  };
}
