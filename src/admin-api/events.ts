/**
 * Schemas of the operator API's event routes: an account's events and one event with its
 * attempts (read from the account's ledger), the operators' index across accounts, dead letters
 * and the quarantine, and the actions on one event (redeliver, replay, erase, re-process).
 */
import * as v from "valibot";
import {
  afterQuery,
  EventId,
  EventState,
  limitQuery,
  SourceName,
  stateParameter,
  TIME_INPUT,
  Timestamp,
  text,
  timeParameter,
  timeQuery,
  toMillis,
} from "./common";

const nullable = <T extends v.GenericSchema>(schema: T, description: string) => v.pipe(v.nullable(schema), v.description(description));
const count = v.pipe(v.number(), v.integer(), v.minValue(0));

/** An event row of an account's ledger, as src/admin.ts `present` shows it. */
export const EventRow = v.pipe(
  v.object({
    seq: v.pipe(count, v.description("Arrival order in the account's ledger = delivery order = the CloudEvent `sequence`.")),
    id: EventId,
    source: SourceName,
    idempotency_key: v.pipe(v.string(), v.description("The provider's idempotency key the id was derived from.")),
    type: nullable(v.string(), "Normalized type; null for a quarantined callback."),
    state: EventState,
    reason: nullable(
      v.string(),
      "Last delivery error, the quarantine reason, or `erased at <RFC 3339> by <actor>` once its payload was erased; null once delivered.",
    ),
    attempts: v.pipe(count, v.description("Delivery attempts made.")),
    last_status: nullable(v.number(), "The origin's last HTTP status; null if it never answered."),
    delivered_ms: v.optional(nullable(v.number(), "The latest successful attempt's latency (ms).")),
    receivedAt: Timestamp,
    nextAttemptAt: nullable(Timestamp, "While pending: when the next attempt is due."),
    deliveredAt: nullable(Timestamp, "When the origin answered 2xx."),
    event: nullable(
      v.unknown(),
      "The CloudEvent exactly as sent, parsed; null once retention dropped its body, once erased, and for quarantined callbacks.",
    ),
  }),
  v.title("EventRow"),
);

export const Attempt = v.pipe(
  v.object({
    attempt: count,
    at: Timestamp,
    outcome: v.picklist(["delivered", "retry", "rejected"]),
    status: nullable(v.number(), "The origin's HTTP status; null when it did not answer."),
    error: nullable(v.string(), "HTTP 503, timeout after 10000 ms, network error: TypeError, …; null when delivered."),
    ms: nullable(v.number(), "Attempt duration; null only for a success delivered before schema migration 8."),
  }),
  v.title("Attempt"),
);

const Headers = nullable(
  v.record(v.string(), v.string()),
  "The allow-listed request headers received (never credentials, cookies or signatures); null when none were kept, or once erased.",
);
const ErasedAt = nullable(Timestamp, "When its payload was erased (POST …/erase); null if it was not.");

export const EventDetail = v.pipe(
  v.object({
    ...EventRow.entries,
    attempts: v.array(Attempt),
    headers: Headers,
    erasedAt: ErasedAt,
  }),
  v.title("EventDetail"),
);

/** Unknown query parameters are ignored here (only the index's queries refuse them). */
export const AccountEventsQuery = v.object({
  // Accepted up to 1000 as the other lists, then cut to 100 (src/admin.ts ACCOUNT_EVENTS_MAX): rows carry their bodies.
  limit: v.pipe(limitQuery(1000, 100), v.description("Events per page: 1 to 1000 accepted, at most 100 answered (each carries its body).")),
  after: afterQuery("A `seq`: only events after it (the `next` of the previous page)."),
  since: v.optional(timeQuery("since must be RFC 3339 or Unix milliseconds", `Only events received at or after this time: ${TIME_INPUT}`)),
  state: v.optional(stateParameter("state")),
});

export const AccountEvents = v.object({
  source: SourceName,
  account: v.string(),
  events: v.array(EventRow),
  next: v.optional(v.pipe(v.string(), v.description("The last row's `seq`: pass it as `after`."))),
});

export const Redelivered = v.object({ status: v.literal("queued"), id: EventId });
export const Replayed = v.object({ status: v.literal("queued"), events: v.pipe(count, v.description("How many were put back.")) });
const SINCE_REQUIRED = "since (RFC 3339 or Unix milliseconds) is required";
export const ReplayQuery = v.object(
  { since: timeQuery(SINCE_REQUIRED, `Replay the delivered events received at or after this time: ${TIME_INPUT}`) },
  SINCE_REQUIRED,
);
export const Erased = v.pipe(v.object({ id: EventId, erasedAt: Timestamp }), v.title("Erased"));

const timeMessage = (name: string) => `${name} must be RFC 3339 (2026-05-01T00:00:00Z) or Unix milliseconds`;

/** The filter's fields (src/index-db/filter-query.ts reads them into SQL's IndexFilter). */
export const FILTER_ENTRIES = {
  source: text("Only this source.", "source", 256),
  account: text("Only this account.", "account"),
  type: text("Only this CloudEvent type.", "type", 256),
  status: v.optional(stateParameter("status")),
  from: v.optional(timeParameter(timeMessage("from"), "Received at or after this time (RFC 3339 or Unix ms).")),
  to: v.optional(timeParameter(timeMessage("to"), "Received before this time (RFC 3339 or Unix ms).")),
  q: text("An event id (evt_…) or any provider reference (order id, txid, serial, …), exact match.", "q"),
};

// Strict: a misspelt key (`stauts`) is refused, never read as "any status" by a bulk job.
const unknownKey = (issue: v.BaseIssue<unknown>) => `unknown parameter ${JSON.stringify(issue.input)}`;
const fromBeforeTo = (f: { from?: string | number | undefined; to?: string | number | undefined }) =>
  f.from === undefined || f.to === undefined || (toMillis(f.from) ?? 0) < (toMillis(f.to) ?? 0);
const FROM_BEFORE_TO = "to must be later than from";
const cursor = (name: string) => text(name, "cursor", 4096);

/** The filter of the operators' index: the events count, and a bulk job's selection. */
export const IndexFilter = v.pipe(
  v.strictObject(FILTER_ENTRIES, unknownKey),
  v.check((f) => fromBeforeTo(f), FROM_BEFORE_TO),
  v.title("IndexFilter"),
);

export const IndexRow = v.pipe(
  v.object({
    id: EventId,
    source: SourceName,
    account: v.string(),
    seq: count,
    type: v.nullable(v.string()),
    status: EventState,
    amount: nullable(v.string(), "Exact decimal string, as in the event."),
    currency: v.nullable(v.string()),
    refs: v.pipe(v.array(v.string()), v.description("The provider's own references of the event.")),
    receivedAt: Timestamp,
    deliveredAt: v.nullable(Timestamp),
    nextAttemptAt: v.nullable(Timestamp),
    attempts: count,
    lastStatus: v.nullable(v.number()),
    reason: v.nullable(v.string()),
    indexedAt: v.pipe(Timestamp, v.description("When the index last wrote this row.")),
  }),
  v.title("IndexRow"),
);

export const IndexEventsQuery = v.pipe(
  v.strictObject(
    { ...FILTER_ENTRIES, cursor: cursor("The `next` of the previous page (opaque)."), limit: limitQuery(1000, 100) },
    unknownKey,
  ),
  v.check((f) => fromBeforeTo(f), FROM_BEFORE_TO),
);
export const IndexEvents = v.object({
  events: v.array(IndexRow),
  next: v.optional(v.pipe(v.string(), v.description("Opaque cursor of the next page; absent on the last."))),
});
export const IndexCount = v.object({ count });

/** Dead letters and quarantined callbacks across accounts. */
export const HeldQuery = v.strictObject(
  {
    source: FILTER_ENTRIES.source,
    account: FILTER_ENTRIES.account,
    cursor: cursor("The `cursor` of the previous page."),
    limit: limitQuery(1000, 100),
  },
  unknownKey,
);

/** Accounts' backlog and origin health (GET /admin/accounts); its cursor is the accounts' own. */
export const AccountsQuery = v.strictObject(
  { source: FILTER_ENTRIES.source, cursor: cursor("The `next` of the previous page."), limit: limitQuery(1000, 100) },
  unknownKey,
);
export const HeldEntries = v.object({
  entries: v.array(
    v.object({
      source: SourceName,
      account: v.pipe(v.string(), v.description("`~quarantine` for quarantined callbacks.")),
      id: EventId,
      reason: v.string(),
      at: v.pipe(v.number(), v.description("When the callback was received (Unix ms).")),
    }),
  ),
  cursor: v.optional(v.string()),
});

export const QuarantineDetail = v.object({
  ...EventRow.entries,
  rawBase64: nullable(v.string(), "The exact bytes received, standard Base64; null once erased."),
  signed: nullable(v.record(v.string(), v.string()), "Signed values read outside the body, by header name; null once erased."),
  headers: Headers,
  erasedAt: ErasedAt,
});

export const ReprocessQuery = v.object({ limit: limitQuery(500, 100), after: afterQuery("The `next` of the previous call.") });
export const Reprocessed = v.object({
  source: SourceName,
  results: v.array(
    v.object({
      id: EventId,
      outcome: v.picklist(["accepted", "duplicate", "still_quarantined"]),
      eventId: v.optional(EventId),
      account: v.optional(v.string()),
      reason: v.optional(v.string()),
    }),
  ),
  next: v.optional(v.string()),
});
