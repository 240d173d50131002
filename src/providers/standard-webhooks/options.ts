/**
 * A Standard Webhooks source's options: the time window, where its payloads name the account and
 * the sender's event type (JSON pointers), and which sender types it maps onto the gateway's
 * vocabulary. A mapping names a gateway type and the status every event of that sender type has:
 * the generic payload carries no status the gateway could read, and every gateway type but
 * `webhook.received` requires one, so a mapping without a status, or with a status outside its
 * type's vocabulary, is refused when the configuration loads, never at delivery.
 */
import * as v from "valibot";
import { type EventType, MONEY_STATUSES, type MoneyStatus, PARTY_STATUSES, type PartyStatus } from "../../event";
import { pointerTokens } from "./pointer";
import { STANDARD_WEBHOOKS_DEFAULT_TOLERANCE_SECONDS } from "./verify";

/** The type of every event a source does not map (docs/events.md). */
export const GENERIC_TYPE = "webhook.received";

/** The statuses each gateway type takes (its `data` shape's vocabulary in src/event.ts). */
const STATUSES: { readonly [T in Exclude<EventType, typeof GENERIC_TYPE>]: readonly string[] } = {
  "deposit.updated": MONEY_STATUSES,
  "withdrawal.updated": MONEY_STATUSES,
  "transfer.updated": MONEY_STATUSES,
  "payment.updated": MONEY_STATUSES,
  "ramp.updated": MONEY_STATUSES,
  "balance.updated": PARTY_STATUSES,
  "customer.updated": PARTY_STATUSES,
  "payment_account.updated": PARTY_STATUSES,
  "account_link.updated": PARTY_STATUSES,
};
type MappedType = keyof typeof STATUSES;

/** A sender type mapped onto the gateway's vocabulary. */
export type Mapping = { readonly type: MappedType; readonly status: MoneyStatus | PartyStatus };

const isMappedType = (type: unknown): type is MappedType => typeof type === "string" && Object.hasOwn(STATUSES, type);
const choices = (values: readonly string[]) => values.map((value) => JSON.stringify(value)).join(" | ");

/** Why a `types` entry cannot map (a message naming what to write instead), or undefined when it can. */
export function mappingProblem(input: unknown): string | undefined {
  if (typeof input === "string") {
    if (input === GENERIC_TYPE) return `every type left out is ${GENERIC_TYPE}: leave this one out`;
    if (!isMappedType(input)) return `${JSON.stringify(input)} is not a gateway type (${choices(Object.keys(STATUSES))})`;
    return `${input} needs the status its events have: write {"type": "${input}", "status": ${choices(STATUSES[input])}}`;
  }
  if (typeof input !== "object" || input === null || Array.isArray(input))
    return 'must be {"type": <gateway type>, "status": <its status>}';
  const { type, status, ...rest } = input as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return `only "type" and "status" (not ${Object.keys(rest).join(", ")})`;
  if (!isMappedType(type))
    return `type: ${JSON.stringify(type)} is not a gateway type other than ${GENERIC_TYPE} (${choices(Object.keys(STATUSES))})`;
  if (typeof status !== "string" || !STATUSES[type].includes(status)) return `status of ${type} must be ${choices(STATUSES[type])}`;
  return undefined;
}

const Pointer = v.pipe(
  v.string(),
  v.check((pointer) => pointerTokens(pointer) !== undefined, 'must be a JSON pointer (RFC 6901) to a member, e.g. "/data/customer_id"'),
);

const MappingEntry = v.pipe(
  v.unknown(),
  v.check(
    (input) => mappingProblem(input) === undefined,
    (issue) => mappingProblem(issue.input) ?? "invalid mapping",
  ),
  v.transform((input) => input as Mapping),
);

export const Options = v.strictObject({
  /** Accepted clock difference in seconds, either way. */
  toleranceSeconds: v.optional(
    v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1800)),
    STANDARD_WEBHOOKS_DEFAULT_TOLERANCE_SECONDS,
  ),
  /** Where each payload names its account (string or number); default: one account for the source. */
  accountPointer: v.optional(Pointer),
  /** Where each payload names the sender's event type (a string); the spec's payloads have it at /type. */
  typePointer: v.optional(Pointer, "/type"),
  /** Sender type → gateway type and status. Sender types not listed are `webhook.received`. */
  types: v.optional(v.record(v.pipe(v.string(), v.nonEmpty()), MappingEntry), {}),
});
export type Options = v.InferOutput<typeof Options>;
