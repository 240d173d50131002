/**
 * Cabital Connect account-link events. Webhooks are signed like Cabital's API requests
 * (Cabital Connect docs "API authentication"; older digi-trade/connect docs):
 * headers ACCESS-KEY, ACCESS-TIMESTAMP (Unix s), ACCESS-NONCE, ACCESS-SIGN = standard Base64 of
 * HMAC-SHA256(secret, timestamp "\n" METHOD "\n" nonce "\n" pathWithQuery "\n" rawBody).
 * The timestamp must be inside the source's window and a nonce is accepted once per 60 minutes
 * (recorded in the account's Durable Object, atomically with the claim). Reply: any 2xx; we send
 * `{"received":true}`. Docs: docs/providers/cabital.md.
 */
import * as v from "valibot";
import type { PartyStatus } from "../../event";
import type { Normalized, Provider } from "../provider";
import { CABITAL_DEFAULT_TOLERANCE_SECONDS, verifier } from "./verify";

const Options = v.strictObject({
  /** Accepted clock difference in seconds, either way. */
  // At most 1800: a timestamp is accepted for 2 × tolerance, which must fit in the nonce memory.
  toleranceSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1800)), CABITAL_DEFAULT_TOLERANCE_SECONDS),
  /** The path (and query) Cabital called, when a proxy rewrites it before the Worker sees it. */
  signedPath: v.optional(v.pipe(v.string(), v.startsWith("/"))),
  /** The older documented layout: the same fields concatenated without separators. */
  layout: v.optional(v.picklist(["newline", "legacy-concat"]), "newline"),
  /** When set, ACCESS-KEY must equal it (the partner key Cabital issued to this deployment). */
  accessKey: v.optional(v.pipe(v.string(), v.nonEmpty())),
});
type Options = v.InferOutput<typeof Options>;

const STATUSES = [
  "INITIALIZED",
  "PENDING",
  "TEMPORARY_REJECTED",
  "FINAL_REJECTED",
  "CREATED",
  "MATCHING",
  "MATCHED",
  "MISMATCHED",
  "LINKED",
  "UNLINKED",
] as const;
type LinkStatus = (typeof STATUSES)[number];

/** Link status → normalized status (docs/providers/cabital.md has the same table). */
export const CABITAL_STATUS: Readonly<Record<LinkStatus, PartyStatus>> = {
  INITIALIZED: "pending",
  PENDING: "pending",
  TEMPORARY_REJECTED: "action_required",
  FINAL_REJECTED: "rejected",
  CREATED: "action_required",
  MATCHING: "pending",
  MATCHED: "active",
  MISMATCHED: "action_required",
  LINKED: "active",
  UNLINKED: "closed",
};

const linkFields = {
  account_uuid: v.pipe(v.string(), v.nonEmpty()),
  user_ext_ref: v.optional(v.string()),
  event_time: v.pipe(v.string(), v.isoTimestamp()),
  data: v.optional(v.nullable(v.unknown())),
};

/** The current docs spell the field `status`, the older ones `staus`: both are accepted. */
const Callback = v.pipe(
  v.looseObject({ ...linkFields, status: v.optional(v.picklist(STATUSES)), staus: v.optional(v.picklist(STATUSES)) }),
  v.transform((cb) => ({ ...cb, linkStatus: cb.status ?? cb.staus })),
  v.check((cb) => cb.linkStatus !== undefined, "status (or staus) is required"),
  v.transform((cb) => ({ ...cb, linkStatus: cb.linkStatus as LinkStatus })),
);
type Callback = v.InferOutput<typeof Callback>;

function normalize(cb: Callback): Normalized | { unmapped: string } {
  const ms = Date.parse(cb.event_time);
  if (Number.isNaN(ms)) return { unmapped: `event_time ${cb.event_time}` };
  const time = new Date(ms).toISOString();
  const linkStatus: LinkStatus = cb.linkStatus;
  const status: PartyStatus = CABITAL_STATUS[linkStatus];
  return {
    event: {
      type: "account_link.updated",
      data: {
        status,
        providerStatus: linkStatus,
        eventTime: time,
        ...(cb.user_ext_ref && { externalId: cb.user_ext_ref }),
      },
    },
    // Cabital sends no event id: one account reaches a given status at a given time once.
    idempotencyKey: `${cb.account_uuid}:${cb.linkStatus}:${cb.event_time}`,
    accountKey: cb.account_uuid,
    time,
  };
}

export const provider: Provider<Options, Callback> = {
  name: verifier.name,
  options: Options,
  secretBindings: () => [],
  verify: (request, keys) => verifier.verify(request, keys.secrets, keys.options),
  schema: Callback,
  normalize,
  ack: { body: '{"received":true}', contentType: "application/json" },
};
