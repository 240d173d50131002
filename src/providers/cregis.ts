/**
 * Cregis WaaS and payment-engine callbacks.
 * Scheme (developer.cregis.com "Signature"; official SDKs 0xcregis/cregis-java-sdk, -go-sdk,
 * -sdk-php): field `sign` in the JSON body = lowercase hex MD5(apiKey + k1v1k2v2...), keys
 * byte-sorted, `sign`, null and "" left out. Values are read from the raw JSON text: strings
 * by their decoded value, numbers by their exact digits, never re-printed from a double.
 * The signature ignores member order, whitespace, string escapes, null and "" members and
 * whether a scalar was a JSON string or number, so the adapter reads only the signed members
 * (`view`), each as the text it signs: an unsigned change can never make a new event.
 * Reply: exactly `success`. Docs: docs/providers/cregis.md.
 */
import * as v from "valibot";
import { exactDecimal } from "../decimal";
import type { MoneyMovementData, MoneyStatus, NormalizedEvent } from "../event";
import { unixMillisToIso } from "../time";
import { cregisSignedMembers, cregisSigningText, verifyCregis } from "../verify/cregis";
import { type RawMember, scalarText, topLevelMembers } from "../verify/json-text";
import { lookup, type Normalized, type Provider } from "./provider";

const Options = v.strictObject({
  /**
   * How a nested object or array value (the payment engine's `data`) enters the signed text.
   * Cregis does not document it. "reject" (default): such a callback cannot be verified → 401.
   * "canonical-json": RFC 8785 canonical JSON (sorted keys, no whitespace), as Cregis' newer SDK
   * does. A `data` sent as a JSON *string* is always signed verbatim and needs no option.
   */
  nestedValues: v.optional(v.picklist(["reject", "canonical-json"]), "reject"),
  /**
   * Signed fields Cregis added after this version, to accept besides the documented ones. A
   * callback with any other field is quarantined: see `view` for why.
   */
  extraFields: v.optional(v.array(v.pipe(v.string(), v.nonEmpty()))),
});
type Options = v.InferOutput<typeof Options>;

// ---------------------------------------------------------------------------------------------
// Payloads: one schema per callback kind, applied to the signed view (every value a string:
// the text it signs; a nested `data` is its signed JSON text). Cregis sends no kind field;
// `kindOf` tells the kinds apart by the signed fields only one kind has, then the union checks
// the body against that kind.

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

const Callback = v.variant("kind", [
  v.object({ kind: v.literal("payment"), body: PaymentEngine }),
  v.object({ kind: v.literal("order_deposit"), body: OrderDeposit }),
  v.object({ kind: v.literal("withdrawal"), body: SubAddressWithdrawal }),
  v.object({ kind: v.literal("payout"), body: Payout }),
  v.object({ kind: v.literal("address_deposit"), body: AddressDeposit }),
]);

/**
 * Tags the body with its kind, then validates it against that kind's schema. `dataText` keeps
 * the payment engine's signed `data` text, whose ids are read exactly (not through a double).
 */
const Schema = v.pipe(
  v.looseObject({}),
  v.transform((body) => ({
    callback: { kind: kindOf(body), body },
    ...(typeof body.data === "string" && { dataText: body.data }),
  })),
  v.object({ callback: Callback, dataText: v.optional(v.string()) }),
);
type Payload = v.InferOutput<typeof Schema>;

/** Every field a documented Cregis callback has: the keys of the kinds' schemas. */
const KNOWN_FIELDS: ReadonlySet<string> = new Set(
  [Payout, SubAddressWithdrawal, AddressDeposit, OrderDeposit, PaymentEngine].flatMap((schema) => Object.keys(schema.entries)),
);

/**
 * The signed members as an object of strings: what the schema and normalization read.
 * Cregis signs `key + value` with no separator, so the boundary between a key and its value is
 * not signed: the holder of a genuine callback can move it (`"currency":"TRX","memo":"abc"` →
 * `"currency":"TRXm","emo":"abc"`, same signature). Every such move creates a field name that is
 * not Cregis', so a callback with a field neither documented nor listed in `extraFields` is
 * quarantined (kept, listable, re-processable), never delivered as a second or altered event.
 */
function view(text: string, options: Options): { value: Record<string, string> } | { reason: string } {
  const members = topLevelMembers(text);
  const signed = members && cregisSignedMembers(members, options);
  if (signed === undefined) return { reason: "no signed content" };
  const unknown = signed.find(([key]) => !KNOWN_FIELDS.has(key) && !(options.extraFields ?? []).includes(key));
  if (unknown !== undefined) return { reason: `unknown signed field ${JSON.stringify(unknown[0].slice(0, 64))}` };
  return { value: Object.fromEntries(signed) };
}

/**
 * Exactly the text the signature covers (without the API key): a quarantined callback's
 * identity, so signature-equivalent variants (re-split ones included) are one entry.
 */
function signedContent(text: string, options: Options): string | undefined {
  const members = topLevelMembers(text);
  return members && cregisSigningText(members, options);
}

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

function normalize({ callback, dataText }: Payload, _text: string): Normalized | { unmapped: string } {
  // Every value of the view is the exact text Cregis signed (digits as sent, never a double).
  const pid = String(callback.body.pid);
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
    // transaction and refund fields tell them apart; a re-push repeats them all. Read from the
    // signed `data` text, so a refund id above 2^53 stays exact.
    const exact = dataText === undefined ? undefined : topLevelMembers(dataText);
    if (exact === undefined) return { unmapped: "data" };
    const distinct = ["cregis_id", "tx_id", "additional_payment_tx_id", "refund_id", "refund_status"].map((key) =>
      exactScalar(exact.get(key)),
    );
    return { event, idempotencyKey: `payment:${pid}:${body.event_type}:${JSON.stringify(distinct)}`, accountKey: pid, ...at };
  }

  const { body } = callback;
  const providerStatus = String(body.status);
  const status = lookup(CREGIS_STATUS[callback.kind], providerStatus);
  if (status === undefined) return { unmapped: `${callback.kind} status ${providerStatus}` };
  // An order deposit says what was asked (`amount`) and what arrived (`real_amount`): money in is the latter.
  const value = exactDecimal(callback.kind === "order_deposit" ? callback.body.real_amount : body.amount);
  if (value === undefined) return { unmapped: "amount" };
  const ref = callback.kind === "order_deposit" && callback.body.cid === undefined ? callback.body.third_party_id : String(body.cid);
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

/** A scalar of the signed `data` as its exact text; null when absent, null or "". */
function exactScalar(member: RawMember | undefined): string | null {
  if (member === undefined || member.kind === "null") return null;
  const text = member.kind === "number" || member.kind === "string" ? scalarText(member) : member.raw;
  return text === "" || text === undefined ? null : text;
}

export const cregis: Provider<Options, Payload> = {
  name: "cregis",
  options: Options,
  secretBindings: () => [],
  verify: (request, keys) => verifyCregis(request, keys.secrets, keys.options),
  view,
  signedContent,
  schema: Schema,
  normalize,
  ack: { body: "success", contentType: "text/plain; charset=utf-8" },
};
