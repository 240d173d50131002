/**
 * What the operator API's schemas share: times, errors, paging. The schemas of src/admin-api/
 * are the one definition of each route's query, body and answer: the routes validate with them
 * and `npm run schema` generates the OpenAPI document (schema/openapi.json) from them.
 */
import * as v from "valibot";

/** A time in an answer. */
export const Timestamp = v.pipe(v.string(), v.isoTimestamp(), v.description("RFC 3339, UTC (e.g. 2026-05-01T10:00:00.000Z)."));

/** A time in a query or a filter: RFC 3339, or Unix milliseconds (digits only). */
export const TimeInput = v.pipe(
  v.string(),
  v.regex(/^(\d+|\d{4}-\d\d-\d\dT.+)$/),
  v.description("RFC 3339 (2026-05-01T00:00:00Z) or Unix milliseconds (1777593600000); digits only are always milliseconds."),
);

export const ErrorBody = v.pipe(
  v.object({ error: v.pipe(v.string(), v.description("What went wrong, as a short code or message; never a secret.")) }),
  v.title("Error"),
);

/** A query parameter given as text (the router reads every query value as a string). */
export const text = (description: string) => v.optional(v.pipe(v.string(), v.description(description)));

export const limitQuery = (max: number, fallback: number) =>
  text(`Page size: a positive integer, at most ${max} (larger values are cut to ${max}); default ${fallback}.`);

export const SourceName = v.pipe(v.string(), v.description("A configured source's name (the path segment of /webhooks/{source})."));
export const AccountKey = v.pipe(v.string(), v.description("The account key: the CloudEvent `subject`."));
export const EventId = v.pipe(v.string(), v.description("evt_…: the CloudEvent `id` and `webhook-id`."));

export const EVENT_STATES = ["pending", "delivered", "dead", "quarantined", "reprocessed"] as const;
export const EventState = v.picklist(EVENT_STATES);
