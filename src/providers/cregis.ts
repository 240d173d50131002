/**
 * Cregis WaaS and payment-engine callbacks.
 * Scheme (developer.cregis.com "Signature"; official SDKs 0xcregis/cregis-java-sdk, -go-sdk,
 * -sdk-php): field `sign` in the JSON body = lowercase hex MD5(apiKey + k1v1k2v2...), keys
 * byte-sorted, `sign`, null and "" left out. Values are read from the raw JSON text: strings
 * by their decoded value, numbers by their exact digits, never re-printed from a double.
 * Reply: exactly `success`. Docs: docs/providers/cregis.md.
 */
import * as v from "valibot";
import { exactDecimal } from "../decimal";
import type { MoneyMovementData, MoneyStatus, NormalizedEvent } from "../event";
import { unixMillisToIso } from "../time";
import { verifyCregis } from "../verify/cregis";
import { type RawMember, stringValue, topLevelMembers } from "../verify/json-text";
import { lookup, type Normalized, type Provider } from "./provider";

const Options = v.strictObject({
  /**
   * How a nested object or array value (the payment engine's `data`) enters the signed text.
   * Cregis does not document it. "reject" (default): such a callback cannot be verified → 401.
   * "canonical-json": RFC 8785 canonical JSON (sorted keys, no whitespace), as Cregis' newer SDK
   * does. A `data` sent as a JSON *string* is always signed verbatim and needs no option.
   */
  nestedValues: v.optional(v.picklist(["reject", "canonical-json"]), "reject"),
});
type Options = v.InferOutput<typeof Options>;

// ---------------------------------------------------------------------------------------------
// Payloads: one schema per callback kind. Cregis sends no kind field; `kindOf` tells the kinds
// apart by the fields only one kind has, then the union checks the body against that kind.

const id = v.union([v.pipe(v.number(), v.integer()), v.pipe(v.string(), v.regex(/^\d+$/))]);
const decimal = v.pipe(v.string(), v.regex(/^-?\d+(\.\d+)?$/));
const optionalText = v.optional(v.nullable(v.string()));
const chainFields = {
  pid: id,
  cid: id,
  chain_id: v.string(),
  token_id: v.string(),
  currency: v.string(),
  amount: decimal,
  txid: optionalText,
  block_height: v.optional(v.nullable(v.union([v.string(), v.number()]))),
  block_time: v.optional(v.nullable(id)),
  nonce: v.string(),
  timestamp: id,
  sign: v.string(),
};

/** Payout (`/api/v1/payout`): status 2 signature rejected, 4 approval rejected, 6 success, 7 failed. */
const Payout = v.looseObject({
  ...chainFields,
  address: v.string(),
  third_party_id: v.string(),
  status: id,
  remark: optionalText,
  memo: optionalText,
});
/** Sub-address withdrawal: like a payout, with from/to addresses. */
const SubAddressWithdrawal = v.looseObject({
  ...chainFields,
  from_address: v.string(),
  to_address: v.string(),
  third_party_id: v.string(),
  status: id,
  remark: optionalText,
  memo: optionalText,
});
/** Address deposit: status 1 success, 2 failed (some SDKs send it as a string). */
const AddressDeposit = v.looseObject({ ...chainFields, address: v.string(), status: id, memo: optionalText });
/** Order deposit (legacy checkout): status 2 success, 3 failed, 4 timeout-cancelled. */
const OrderDeposit = v.looseObject({
  ...chainFields,
  cid: v.optional(id),
  address: v.string(),
  real_amount: decimal,
  third_party_id: v.string(),
  status: id,
  memo: optionalText,
});
/** Payment engine order event; `data` may arrive as an object or as a JSON string. */
const PaymentData = v.looseObject({
  cregis_id: v.string(),
  order_id: v.string(),
  order_amount: v.optional(decimal),
  order_currency: v.optional(v.string()),
  pay_amount: v.optional(v.nullable(decimal)),
  pay_currency: v.optional(v.nullable(v.string())),
  tx_id: v.optional(v.nullable(v.string())),
  refund_id: v.optional(v.nullable(v.union([v.string(), v.number()]))),
  refund_status: v.optional(v.nullable(v.union([v.string(), v.number()]))),
  additional_payment_tx_id: v.optional(v.nullable(v.string())),
  status: v.optional(v.string()),
});
const PaymentEngine = v.looseObject({
  event_name: v.literal("order"),
  event_type: v.string(),
  pid: id,
  nonce: v.string(),
  timestamp: id,
  data: v.union([PaymentData, v.pipe(v.string(), v.parseJson(), PaymentData)]),
});

const Callback = v.union([
  v.object({ kind: v.literal("payment"), body: PaymentEngine }),
  v.object({ kind: v.literal("order_deposit"), body: OrderDeposit }),
  v.object({ kind: v.literal("withdrawal"), body: SubAddressWithdrawal }),
  v.object({ kind: v.literal("payout"), body: Payout }),
  v.object({ kind: v.literal("address_deposit"), body: AddressDeposit }),
]);

/** Tags the body with its kind, then validates it against that kind's schema. */
const Schema = v.pipe(
  v.looseObject({}),
  v.transform((body) => ({ kind: kindOf(body), body })),
  Callback,
);
type Callback = v.InferOutput<typeof Callback>;

function kindOf(body: Record<string, unknown>): string {
  if ("event_name" in body) return "payment";
  if ("real_amount" in body) return "order_deposit";
  if ("from_address" in body && "to_address" in body) return "withdrawal";
  if ("third_party_id" in body) return "payout";
  return "address_deposit";
}

// ---------------------------------------------------------------------------------------------
// Status mappings (docs/providers/cregis.md has the same tables)

export const CREGIS_STATUS = {
  payout: { "2": "rejected", "4": "rejected", "6": "succeeded", "7": "failed" },
  withdrawal: { "2": "rejected", "4": "rejected", "6": "succeeded", "7": "failed" },
  address_deposit: { "1": "succeeded", "2": "failed" },
  order_deposit: { "2": "succeeded", "3": "failed", "4": "expired" },
  payment: {
    paid: "succeeded",
    paid_over: "succeeded",
    overpaid: "succeeded",
    paid_remain: "succeeded",
    paid_partial: "processing",
    partial_paid: "processing",
    expired: "expired",
    refunded: "cancelled",
  },
} as const satisfies Record<string, Record<string, MoneyStatus>>;

/** Raw JSON text of a top-level member: exact digits for ids a double cannot hold. */
function rawText(members: ReadonlyMap<string, RawMember> | undefined, key: string, fallback: unknown): string {
  const member = members?.get(key);
  if (member === undefined) return String(fallback);
  return member.kind === "string" ? (stringValue(member) ?? "") : member.raw;
}

function normalize(callback: Callback, text: string): Normalized | { unmapped: string } {
  const members = topLevelMembers(text);
  const pid = rawText(members, "pid", callback.body.pid);
  const time = unixMillisToIso(Number(callback.body.block_time ?? 0) || Number(callback.body.timestamp));
  const at = time === undefined ? {} : { time };

  if (callback.kind === "payment") {
    const { body } = callback;
    const status = lookup(CREGIS_STATUS.payment, body.event_type);
    if (status === undefined) return { unmapped: `event_type ${body.event_type}` };
    const data = body.data;
    const event: NormalizedEvent = {
      type: "payment.updated",
      data: {
        status,
        providerStatus: body.event_type,
        orderId: data.order_id,
        ...(data.order_amount && data.order_currency && { amount: { value: data.order_amount, currency: data.order_currency } }),
        ...(data.pay_amount && data.pay_currency && { paidAmount: { value: data.pay_amount, currency: data.pay_currency } }),
        ...(data.tx_id && { txHash: data.tx_id }),
      },
    };
    // One order can see several events of one type (partial payments, refund progress): the
    // transaction and refund fields tell them apart; a re-push repeats them all.
    const distinct = [data.tx_id, data.additional_payment_tx_id, data.refund_id, data.refund_status].map((x) =>
      x === undefined || x === null ? "" : String(x),
    );
    return { event, idempotencyKey: `payment:${pid}:${data.cregis_id}:${body.event_type}:${distinct.join(":")}`, accountKey: pid, ...at };
  }

  const { body } = callback;
  const providerStatus = rawText(members, "status", body.status);
  const status = lookup(CREGIS_STATUS[callback.kind], providerStatus);
  if (status === undefined) return { unmapped: `${callback.kind} status ${providerStatus}` };
  // An order deposit says what was asked (`amount`) and what arrived (`real_amount`): money in is the latter.
  const value = exactDecimal(callback.kind === "order_deposit" ? callback.body.real_amount : body.amount);
  if (value === undefined) return { unmapped: "amount" };
  const ref =
    callback.kind === "order_deposit" && callback.body.cid === undefined ? callback.body.third_party_id : rawText(members, "cid", body.cid);
  const data: Omit<MoneyMovementData, "payload"> = { status, providerStatus, amount: { value, currency: body.currency } };
  if (callback.kind === "withdrawal") {
    data.fromAddress = callback.body.from_address;
    data.toAddress = callback.body.to_address;
  } else {
    data.toAddress = callback.body.address;
  }
  if (callback.kind !== "address_deposit") data.orderId = callback.body.third_party_id;
  if (body.txid) data.txHash = body.txid;
  if (body.block_height !== undefined && body.block_height !== null && body.block_height !== "")
    data.blockHeight = String(body.block_height);
  if (body.memo) data.memo = body.memo;
  const event: NormalizedEvent = {
    type: callback.kind === "payout" || callback.kind === "withdrawal" ? "withdrawal.updated" : "deposit.updated",
    data,
  };
  return { event, idempotencyKey: `${callback.kind}:${pid}:${ref}:${providerStatus}`, accountKey: pid, ...at };
}

export const cregis: Provider<Options, Callback> = {
  name: "cregis",
  options: Options,
  secretBindings: () => [],
  verify: (request, keys) => verifyCregis(request, keys.secrets, keys.options),
  schema: Schema,
  normalize,
  ack: { body: "success", contentType: "text/plain; charset=utf-8" },
};
