/**
 * The operational events (`gateway.*`) the gateway sends about itself to OPS_WEBHOOK_URL: one
 * valibot definition per type's `data` and of the CloudEvents envelope, from which the TypeScript
 * types and the published schema/ops-events.json come (`npm run schema`, ./schema.ts), and the
 * builders the other modules call. A builder returns an `OpsEventInput` whose `key` names the
 * occurrence (the same condition or the same dead letter gives the same key, so a repeated call
 * is one event), so keys and data stay defined here, in one place. docs/ops-events.md.
 */
import * as v from "valibot";
import { redactedUrl } from "../redact-url";
import { isoTime } from "../time";

export const OPS_EVENT_TYPES = [
  "gateway.breaker.opened",
  "gateway.breaker.closed",
  "gateway.event.dead_lettered",
  "gateway.event.quarantined",
  "gateway.source.rejections_high",
  "gateway.backlog.stale",
] as const;
export type OpsEventType = (typeof OPS_EVENT_TYPES)[number];

/** The CloudEvents `source` of every operational event. */
export const OPS_EVENT_SOURCE = "webhook-gateway";

const text = (description: string) => v.pipe(v.string(), v.description(description));
const count = (description: string) => v.pipe(v.number(), v.integer(), v.minValue(0), v.description(description));
const instant = (description: string) => v.pipe(v.string(), v.isoTimestamp(), v.description(description));
const destination = v.pipe(
  v.string(),
  v.regex(/^[0-9a-f]{16}$/),
  v.description("The destination's id (the admin API's /admin/destinations/{id})."),
);
const url = text("The destination's URL without its query, fragment or credentials (scheme, host, port and path).");
const eventIdText = v.pipe(v.string(), v.regex(/^evt_[0-9a-f]{32}$/));

const BreakerOpened = v.object({
  destination,
  url,
  reason: text("Why it opened: the failure rate over the window, or the consecutive failures."),
  openedAt: instant("When the breaker opened."),
});
const BreakerClosed = v.object({
  destination,
  url,
  openedAt: instant("When the breaker had opened."),
  closedAt: instant("When a probe succeeded and the breaker closed."),
});
const DeadLettered = v.object({
  source: text("The source the event came in on."),
  account: text("The account key (the event's subject)."),
  eventId: v.pipe(eventIdText, v.description("The dead-lettered event's id (its webhook-id).")),
  attempts: count("Delivery attempts made, the last one included."),
  status: v.pipe(
    v.nullable(v.pipe(v.number(), v.integer())),
    v.description("The origin's last HTTP status; null for a timeout or network error."),
  ),
  reason: text("The last attempt's error."),
});
const Quarantined = v.object({
  source: text("The source the callback came in on."),
  eventId: v.pipe(eventIdText, v.description("The quarantine entry's id (GET /admin/sources/{source}/quarantine/{id}).")),
  reason: text("Why the adapters could not read it."),
  receivedAt: instant("When the callback was received."),
});
const RejectionsHigh = v.object({
  source: text("The configured source."),
  rejections: count("Requests refused (4xx, not verified or replayed) within the window."),
  causes: v.pipe(
    v.record(v.string(), v.pipe(v.number(), v.integer(), v.minValue(0))),
    v.description("The same count per cause (bad_signature, stale_timestamp, ...)."),
  ),
  threshold: count("OPS_REJECTIONS_THRESHOLD."),
  windowSeconds: count("OPS_REJECTIONS_WINDOW_SECONDS."),
});
const BacklogStale = v.object({
  source: text("The source."),
  account: text("The account key."),
  pending: count("Events waiting in the account's outbox."),
  oldestPendingAt: instant("When the oldest of them was received."),
  thresholdSeconds: count("OPS_BACKLOG_SECONDS."),
});

const DATA = {
  "gateway.breaker.opened": BreakerOpened,
  "gateway.breaker.closed": BreakerClosed,
  "gateway.event.dead_lettered": DeadLettered,
  "gateway.event.quarantined": Quarantined,
  "gateway.source.rejections_high": RejectionsHigh,
  "gateway.backlog.stale": BacklogStale,
} as const;

export type OpsEventData<T extends OpsEventType> = v.InferOutput<(typeof DATA)[T]>;

/** What a caller hands to `opsEvent`: the type, the CloudEvents subject, the occurrence's key, the data. */
export type OpsEventInput = {
  [T in OpsEventType]: { readonly type: T; readonly subject: string; readonly key: string; readonly data: OpsEventData<T> };
}[OpsEventType];

const envelope = {
  specversion: v.literal("1.0"),
  id: v.pipe(
    eventIdText,
    v.description("Derived from the occurrence's key: a repeat of the same occurrence has the same id; equals webhook-id."),
  ),
  source: v.literal(OPS_EVENT_SOURCE),
  subject: text("What the event is about: destinations/{id}, events/{id}, sources/{source} or sources/{source}/accounts/{account}."),
  time: instant("When the gateway noticed it."),
  datacontenttype: v.literal("application/json"),
  sequence: v.pipe(
    v.string(),
    v.regex(/^\d{19}$/),
    v.description("The event's position in the operations feed (one stream, in order), 19 zero-padded digits."),
  ),
};

/** The envelope as the operations webhook receives it. */
export const OpsEventSchema = v.variant("type", [
  v.object({ ...envelope, type: v.literal("gateway.breaker.opened"), data: BreakerOpened }),
  v.object({ ...envelope, type: v.literal("gateway.breaker.closed"), data: BreakerClosed }),
  v.object({ ...envelope, type: v.literal("gateway.event.dead_lettered"), data: DeadLettered }),
  v.object({ ...envelope, type: v.literal("gateway.event.quarantined"), data: Quarantined }),
  v.object({ ...envelope, type: v.literal("gateway.source.rejections_high"), data: RejectionsHigh }),
  v.object({ ...envelope, type: v.literal("gateway.backlog.stale"), data: BacklogStale }),
]);
export type OpsEvent = v.InferOutput<typeof OpsEventSchema>;

/** Checks a builder's data before it is stored: what is sent always matches the published schema. */
export function dataProblem(input: OpsEventInput): string | undefined {
  const result = v.safeParse(DATA[input.type], input.data);
  if (result.success) return undefined;
  const issue = result.issues[0];
  return issue === undefined ? "invalid" : `${v.getDotPath(issue) ?? "data"}: ${issue.message}`;
}

/** The breaker of a destination opened (src/destination/). `url` is redacted here. */
export function breakerOpened(d: { destination: string; url: string; reason: string; openedAt: number }): OpsEventInput {
  return {
    type: "gateway.breaker.opened",
    subject: `destinations/${d.destination}`,
    key: `breaker.opened/${d.destination}/${d.openedAt}`,
    data: { destination: d.destination, url: redactedUrl(d.url), reason: d.reason, openedAt: isoTime(d.openedAt) },
  };
}

/** The breaker that opened at `openedAt` closed: one per opening. */
export function breakerClosed(d: { destination: string; url: string; openedAt: number; closedAt: number }): OpsEventInput {
  return {
    type: "gateway.breaker.closed",
    subject: `destinations/${d.destination}`,
    key: `breaker.closed/${d.destination}/${d.openedAt}`,
    data: { destination: d.destination, url: redactedUrl(d.url), openedAt: isoTime(d.openedAt), closedAt: isoTime(d.closedAt) },
  };
}

/**
 * An event was dead-lettered (src/ledger/outbox.ts). Attempts are never reset, so an event an
 * operator redelivered that dead-letters again is a new occurrence with its own key.
 */
export function deadLettered(d: {
  source: string;
  account: string;
  eventId: string;
  attempts: number;
  status: number | null;
  reason: string;
}): OpsEventInput {
  return {
    type: "gateway.event.dead_lettered",
    subject: `events/${d.eventId}`,
    key: `event.dead_lettered/${d.eventId}/${d.attempts}`,
    data: { source: d.source, account: d.account, eventId: d.eventId, attempts: d.attempts, status: d.status, reason: d.reason },
  };
}

/** A verified callback was quarantined (src/ingress.ts); a provider's retry of it is the same occurrence. */
export function quarantined(d: { source: string; eventId: string; reason: string; receivedAt: number }): OpsEventInput {
  return {
    type: "gateway.event.quarantined",
    subject: `events/${d.eventId}`,
    key: `event.quarantined/${d.eventId}`,
    data: { source: d.source, eventId: d.eventId, reason: d.reason, receivedAt: isoTime(d.receivedAt) },
  };
}

/** A source's rejections reached the threshold; `startedAt` names the episode (./conditions.ts). */
export function rejectionsHigh(d: {
  source: string;
  rejections: number;
  causes: Record<string, number>;
  threshold: number;
  windowSeconds: number;
  startedAt: number;
}): OpsEventInput {
  return {
    type: "gateway.source.rejections_high",
    subject: `sources/${d.source}`,
    key: `source.rejections_high/${d.source}/${d.startedAt}`,
    data: { source: d.source, rejections: d.rejections, causes: d.causes, threshold: d.threshold, windowSeconds: d.windowSeconds },
  };
}

/** An account's oldest pending event is older than the threshold; `startedAt` names the episode. */
export function backlogStale(d: {
  source: string;
  account: string;
  pending: number;
  oldestPendingAt: number;
  thresholdSeconds: number;
  startedAt: number;
}): OpsEventInput {
  return {
    type: "gateway.backlog.stale",
    subject: `sources/${d.source}/accounts/${d.account}`,
    key: `backlog.stale/${JSON.stringify([d.source, d.account])}/${d.startedAt}`,
    data: {
      source: d.source,
      account: d.account,
      pending: d.pending,
      oldestPendingAt: isoTime(d.oldestPendingAt),
      thresholdSeconds: d.thresholdSeconds,
    },
  };
}
