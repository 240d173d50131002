/**
 * Standard Webhooks senders: any platform that signs its webhooks per the Standard Webhooks spec
 * (https://www.standardwebhooks.com). Verification: ./verify.ts. Identity: the sender's
 * `webhook-id` (signed, the same on every retry of a message), which the verifier hands over from
 * outside the body. Account: the member the source's `accountPointer` names, else one account
 * for the whole source. Type: `webhook.received` with the sender's own type, unless the source
 * maps that type onto a gateway type (./options.ts). Reply: any 2xx is success to a Standard
 * Webhooks sender; we send 200 `{"received":true}`. Docs: docs/providers/standard-webhooks.md.
 */
import * as v from "valibot";
import type { NormalizedEvent } from "../../event";
import { secretKey } from "../../verify/standard-webhooks";
import { lookup, type Normalized, type Provider, type SignedFields } from "../provider";
import { GENERIC_TYPE, type Mapping, Options } from "./options";
import { readScalar, readString } from "./pointer";
import { verifier } from "./verify";

/** The account of every event of a source without `accountPointer`. */
export const DEFAULT_ACCOUNT = "default";

/** The signed header the adapter reads after verification: the sender's message id. */
const MESSAGE_ID = "webhook-id";

/**
 * What the adapter reads from a body, through the source's options (`view`): its account, the
 * sender's type and what the source maps it to, and the event time. The payload itself reaches
 * the origin as sent (src/ingress.ts splices the body's text in).
 */
const Reading = v.object({
  account: v.string(),
  eventType: v.optional(v.string()),
  mapped: v.optional(v.custom<Mapping>((input) => typeof input === "object" && input !== null)),
  time: v.optional(v.string()),
});
type Reading = v.InferOutput<typeof Reading>;

// RFC 3339 date-time, as the spec's payload `timestamp` is written ("2022-11-03T20:26:10.344522Z").
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * The instant (Unix ms) an RFC 3339 date-time names, or NaN. `Date.parse` rolls a date that does
 * not exist over into one that does (30 February → 2 March, hour 24 → the next day), and an
 * offset can carry year 0000 before year 0 (no RFC 3339 text): such a timestamp names no instant
 * the sender meant, so the event takes its receipt time, as for any unreadable one. Before 1970
 * is refused as the other adapters refuse it (src/time.ts).
 */
function instant(stamp: string): number {
  const match = RFC3339.exec(stamp);
  if (match === null) return Number.NaN;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  const exists = date.getUTCMonth() === month - 1 && date.getUTCDate() === day && hour < 24 && minute < 60 && second < 60;
  const ms = exists ? Date.parse(stamp) : Number.NaN;
  return ms > 0 ? ms : Number.NaN;
}

/**
 * The body as this source reads it, or why it cannot (→ quarantine with that reason). Read here
 * because `view` is where a source's options reach an adapter (`normalize` gets the reading).
 */
function view(text: string, options: Options): { value: Reading } | { reason: string } {
  let account = DEFAULT_ACCOUNT;
  if (options.accountPointer !== undefined) {
    const read = readScalar(text, options.accountPointer);
    if ("missing" in read) return { reason: `accountPointer ${options.accountPointer} names no account: ${read.missing}` };
    account = read.value;
  }
  // The sender's type is optional in the spec: a body without one is still an event, untyped.
  const eventType = readString(text, options.typePointer);
  const mapped = eventType === undefined ? undefined : lookup(options.types, eventType);
  // The spec's payload `timestamp`: when the event occurred (the header's is the attempt's).
  const stamp = readString(text, "/timestamp");
  const ms = stamp !== undefined ? instant(stamp) : Number.NaN;
  return {
    value: {
      account,
      ...(eventType !== undefined && { eventType }),
      ...(mapped !== undefined && { mapped }),
      ...(!Number.isNaN(ms) && { time: new Date(ms).toISOString() }),
    },
  };
}

function normalize(reading: Reading, _text: string, signed?: SignedFields): Normalized | { unmapped: string } {
  const messageId = signed?.[MESSAGE_ID];
  // Only a callback quarantined before the quarantine kept signed headers comes without it.
  if (messageId === undefined) {
    return { unmapped: "no webhook-id (kept before the quarantine stored signed headers; have the sender resend the message)" };
  }
  const { mapped, eventType } = reading;
  const event =
    mapped !== undefined && eventType !== undefined
      ? { type: mapped.type, data: { status: mapped.status, providerStatus: eventType, messageId } }
      : { type: GENERIC_TYPE, data: { ...(eventType !== undefined && { eventType }), messageId } };
  return {
    // One mapping pairs each type with a status of its own vocabulary (./options.ts checks it).
    event: event as NormalizedEvent,
    idempotencyKey: messageId,
    accountKey: reading.account,
    ...(reading.time !== undefined && { time: reading.time }),
  };
}

export const provider: Provider<Options, Reading> = {
  name: verifier.name,
  options: Options,
  secretBindings: () => [],
  async verify(request, keys) {
    const result = await verifier.verify(request, keys.secrets, keys.options);
    if (result.ok) return { ...result, signed: { [MESSAGE_ID]: request.headers.get(MESSAGE_ID) ?? "" } };
    // A secret that is not whsec_ + base64 can verify nothing: a fault for a person (logged at error).
    const broken = keys.secrets.findIndex((secret) => secretKey(secret) === undefined);
    if (broken < 0) return result;
    return {
      ...result,
      config: `secret ${broken + 1} of ${keys.secrets.length} is not a Standard Webhooks secret (whsec_ + standard base64)`,
    };
  },
  view,
  // Two messages with the same body are two callbacks: a quarantined one is kept per webhook-id.
  signedContent: (text, _options, signed) => (signed?.[MESSAGE_ID] === undefined ? undefined : JSON.stringify([signed[MESSAGE_ID], text])),
  schema: Reading,
  normalize,
  ack: { body: '{"received":true}', contentType: "application/json" },
};
