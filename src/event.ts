/**
 * The outbound contract: the one definition of the normalized event an origin receives.
 * The TypeScript types are inferred from these valibot schemas and `schema/gateway-event.json`
 * is generated from them (`npm run schema`), so code, schema and docs cannot drift apart.
 * Field-by-field documentation lives in docs/events.md.
 */
import * as v from "valibot";
import { PROVIDER_NAMES, type ProviderName } from "./providers/registry";

/** The providers an event can come from: the registry's (src/providers/registry.ts), in its order. */
export const PROVIDERS = PROVIDER_NAMES;
export type { ProviderName };

export const MONEY_STATUSES = ["pending", "processing", "succeeded", "failed", "cancelled", "rejected", "expired"] as const;
export type MoneyStatus = (typeof MONEY_STATUSES)[number];

export const PARTY_STATUSES = ["pending", "action_required", "active", "rejected", "suspended", "closed"] as const;
export type PartyStatus = (typeof PARTY_STATUSES)[number];

const DECIMAL_PATTERN = /^-?\d+(\.\d+)?$/;

const Amount = v.object({
  value: v.pipe(v.string(), v.regex(DECIMAL_PATTERN), v.description("Exact decimal string, never a float.")),
  currency: v.pipe(v.string(), v.description("The provider's currency or token code.")),
});
export type Amount = v.InferOutput<typeof Amount>;

const optionalString = (description: string) => v.optional(v.pipe(v.string(), v.description(description)));

/** Anti-money-laundering screening results the provider attached, carried through unchanged. */
const Aml = v.object({
  screenPass: v.optional(v.boolean()),
  blocklistTags: v.optional(v.array(v.string())),
  tags: v.optional(v.unknown()),
});

const payload = v.pipe(v.unknown(), v.description("The provider's original JSON, unchanged."));
const messageId = (description: string) => v.pipe(v.string(), v.description(description));

const common = {
  providerStatus: v.pipe(v.string(), v.description("The provider's own status value, as a string.")),
  payload,
  messageId: v.optional(
    messageId("The sender's id of the message when its signature carries one outside the payload (Standard Webhooks `webhook-id`)."),
  ),
};

/** Data of deposit.updated, withdrawal.updated and transfer.updated. */
const MoneyMovementData = v.object({
  status: v.picklist(MONEY_STATUSES),
  ...common,
  amount: v.optional(v.pipe(Amount, v.description("The amount moved; absent only when the provider's event carries none."))),
  fee: v.optional(Amount),
  txHash: optionalString("On-chain transaction hash, if any."),
  fromAddress: optionalString("Sending address, if known."),
  toAddress: optionalString("Receiving address, if known."),
  memo: optionalString("Memo or destination tag."),
  confirmations: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  blockHeight: optionalString("Block height, as a decimal string."),
  orderId: optionalString("The merchant's or provider's order id for this movement."),
  failureReason: optionalString("Why the movement failed, when the provider says."),
  aml: v.optional(Aml),
  fromAccount: optionalString("Sending account or user id at the provider, for transfers."),
  toAccount: optionalString("Receiving account or user id at the provider, for transfers."),
  method: optionalString("Payment rail or method named by the provider (e.g. ACH, PSE)."),
});
export type MoneyMovementData = v.InferOutput<typeof MoneyMovementData>;

/** Data of payment.updated (merchant payment orders). */
const PaymentData = v.object({
  status: v.picklist(MONEY_STATUSES),
  ...common,
  amount: v.optional(Amount),
  paidAmount: v.optional(Amount),
  orderId: optionalString("The merchant's order id."),
  txHash: optionalString("On-chain transaction hash, if any."),
});

/** Data of ramp.updated: a fiat/crypto on- or off-ramp order. */
const RampData = v.object({
  status: v.picklist(MONEY_STATUSES),
  ...common,
  amount: v.optional(v.pipe(Amount, v.description("What the user pays in (from amount and currency)."))),
  toAmount: v.optional(v.pipe(Amount, v.description("What the user receives (to amount and currency)."))),
  direction: optionalString("ON (fiat to crypto) or OFF (crypto to fiat), as the provider says."),
  transferProof: optionalString("Proof of the final transfer (e.g. a transaction hash)."),
  orderId: optionalString("The provider's id of the ramp order."),
});

/** Data of balance.updated: a balance snapshot or change. The status is the balance account's. */
const BalanceData = v.object({
  status: v.picklist(PARTY_STATUSES),
  ...common,
  balance: v.optional(v.pipe(Amount, v.description("The (available) balance after the change."))),
  change: v.optional(v.pipe(Amount, v.description("The signed change: positive is a credit, negative a debit."))),
  reason: optionalString("Why the balance changed (deposit, withdrawal, interest, fee, ...)."),
  reference: optionalString("The transaction that changed it, when the provider says."),
});

/** Data of customer.updated, payment_account.updated and account_link.updated. */
const PartyData = v.object({
  status: v.picklist(PARTY_STATUSES),
  ...common,
  externalId: optionalString("The merchant's own id of this customer, account or link."),
  kind: optionalString("The provider's kind of customer or account (e.g. PERSON, PSE, WALLET)."),
  accessLevel: optionalString("The customer's verification or access level (e.g. L2, lv2)."),
  eventTime: optionalString("When the provider says the change happened (RFC 3339)."),
});
export type PartyData = v.InferOutput<typeof PartyData>;

/**
 * Data of webhook.received: an event of a Standard Webhooks sender that its source maps onto no
 * gateway type. The gateway does not interpret it: no status, the sender's type and id as sent.
 */
const WebhookData = v.object({
  eventType: optionalString("The sender's own event type (its payload's `type`, or the source's typePointer), when the payload has one."),
  messageId: messageId("The sender's id of the message (`webhook-id`): the same on every retry of it."),
  payload,
});

const envelope = {
  specversion: v.literal("1.0"),
  id: v.pipe(
    v.string(),
    v.regex(/^evt_[0-9a-f]{32}$/),
    v.description("Deterministic: the same provider event always has the same id; equals webhook-id."),
  ),
  source: v.pipe(v.string(), v.regex(/^\/sources\/.+$/)),
  subject: v.pipe(v.string(), v.description("The account key: the unit of ordering.")),
  time: v.pipe(v.string(), v.isoTimestamp()),
  datacontenttype: v.literal("application/json"),
  provider: v.picklist(PROVIDERS),
  sequence: v.pipe(
    v.string(),
    v.regex(/^\d{19}$/),
    v.description(
      "CloudEvents sequence extension: the event's position in its account's stream (source + subject), 19 zero-padded decimal digits so it orders as text. Starts at 1 and grows by 1 per event; a number the origin never receives is a dead-lettered event. The same on every attempt, redelivery and replay.",
    ),
  ),
};

export const GatewayEventSchema = v.variant("type", [
  v.object({ ...envelope, type: v.picklist(["deposit.updated", "withdrawal.updated", "transfer.updated"]), data: MoneyMovementData }),
  v.object({ ...envelope, type: v.literal("payment.updated"), data: PaymentData }),
  v.object({ ...envelope, type: v.literal("ramp.updated"), data: RampData }),
  v.object({ ...envelope, type: v.literal("balance.updated"), data: BalanceData }),
  v.object({
    ...envelope,
    type: v.picklist(["customer.updated", "payment_account.updated", "account_link.updated"]),
    data: PartyData,
  }),
  v.object({ ...envelope, type: v.literal("webhook.received"), data: WebhookData }),
]);

export type GatewayEvent = v.InferOutput<typeof GatewayEventSchema>;
export type EventType = GatewayEvent["type"];

/** What a provider adapter produces: the event's type and data, without the original payload. */
export type NormalizedEvent = GatewayEvent extends infer E
  ? E extends { type: infer T; data: infer D }
    ? { type: T; data: Omit<D, "payload"> }
    : never
  : never;
