/**
 * What the operator API's schemas share: times, errors, paging. The schemas of src/admin-api/
 * are the one definition of each route's query, body and answer: the routes validate with these
 * very objects (each route module lists them in its `VALIDATES`, test/node/openapi-schemas.test.ts
 * checks they are the ones ./routes.ts documents) and `npm run schema` generates the OpenAPI
 * document (schema/openapi.json) from them. The messages of the validating actions are the
 * `error` of the route's 400; descriptions come before any transformation, since the document
 * shows a parameter as it is sent.
 */
import * as v from "valibot";

/** A time in an answer. */
export const Timestamp = v.pipe(v.string(), v.isoTimestamp(), v.description("RFC 3339, UTC (e.g. 2026-05-01T10:00:00.000Z)."));

/** How a time in a query or a filter is written. */
export const TIME_INPUT = "RFC 3339 (2026-05-01T00:00:00Z) or Unix milliseconds (1777593600000); digits only are always milliseconds.";

export const ErrorBody = v.pipe(
  v.object({ error: v.pipe(v.string(), v.description("What went wrong, as a short code or message; never a secret.")) }),
  v.title("Error"),
);

/** RFC 3339 date-time (seconds required, fraction and offset as the RFC allows). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
/** How a time is written as text: Unix ms (digits) or RFC 3339 (as the document shows it). */
const TIME_TEXT = /^(\d{1,16}|\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2}))$/;

/** Unix ms from RFC 3339 text, a string of digits, or (in JSON) a non-negative integer; undefined otherwise. */
export function toMillis(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== "string") return undefined;
  if (/^\d{1,16}$/.test(value)) return Number(value);
  if (!RFC3339.test(value)) return undefined;
  const ms = Date.parse(value.replace(" ", "T"));
  return Number.isFinite(ms) ? ms : undefined;
}

/** A time query parameter (text): RFC 3339 or Unix ms. Validated, not transformed: routes read it with toMillis. */
export const timeQuery = (message: string, description: string) =>
  v.pipe(
    v.string(message),
    v.description(description),
    v.regex(TIME_TEXT, message),
    v.check((value) => toMillis(value) !== undefined, message),
  );

/**
 * A time of the index filter: RFC 3339 or Unix ms, as text, or (in a bulk job's JSON) the
 * number itself. Not transformed: a bulk job keeps its filter as given.
 */
export const timeParameter = (message: string, description: string) =>
  v.pipe(
    v.union([v.string(), v.number()], message),
    v.description(description),
    v.check((value) => toMillis(value) !== undefined, message),
  );

/** A query parameter given once, as text (the router reads a repeated one as an array). */
export const text = (description: string, name = "value", max = 1024) =>
  v.optional(
    v.pipe(
      v.string(`${name} must be given once, as text`),
      v.description(description),
      v.maxLength(max, `${name} must be at most ${max} characters`),
    ),
  );

/** A page size: a positive integer, cut to `max`; absent means the route's default. */
export const limitQuery = (max: number, fallback: number) =>
  v.optional(
    v.pipe(
      v.string("limit must be given once"),
      v.description(`Page size: a positive integer, at most ${max} (larger values are cut to ${max}); default ${fallback}.`),
      v.regex(/^\d{1,9}$/, "limit must be a positive integer"),
      v.transform(Number),
      v.minValue(1, "limit must be a positive integer"),
      v.transform((n) => Math.min(n, max)),
    ),
  );

/** A ledger `seq` to page after (the `next` of the previous page). */
export const afterQuery = (description: string) =>
  v.optional(
    v.pipe(
      v.string("after must be given once"),
      v.description(description),
      v.regex(/^\d{1,15}$/, "after must be a seq (a non-negative integer)"),
      v.transform(Number),
    ),
  );

export const SourceName = v.pipe(v.string(), v.description("A configured source's name (the path segment of /webhooks/{source})."));
export const AccountKey = v.pipe(v.string(), v.description("The account key: the CloudEvent `subject`."));
export const EventId = v.pipe(v.string(), v.description("evt_…: the CloudEvent `id` and `webhook-id`."));

export const EVENT_STATES = ["pending", "delivered", "dead", "quarantined", "reprocessed"] as const;
export const EventState = v.picklist(EVENT_STATES);
/** An event state given as a query or filter value; `name` is the parameter's. */
export const stateParameter = (name: string) => v.picklist(EVENT_STATES, `${name} must be one of ${EVENT_STATES.join(", ")}`);
