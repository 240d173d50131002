/**
 * Coins Access (Coins.ph merchant webhooks): `{"event": ..., "data": {...}}`, reply `OK`.
 * Coins does not publish how webhooks are signed (coins-access-api.readthedocs.io shows none),
 * so each source chooses a scheme agreed at onboarding, and a source without one is a
 * configuration error, never a no-op:
 * - `rsa-sha256`: Base64 RSASSA-PKCS1-v1_5 SHA-256 signature of the raw body in a header,
 *   checked with the PEM public key Coins provides (their documented "SHA256withRSA");
 * - `hmac-sha256`: the merchant-API layout: X-Merchant-Key, X-Timestamp, and X-Merchant-Sign =
 *   lowercase hex HMAC-SHA256(secret, timestamp + URL + body), with a timestamp window;
 * - `token`: a static header token (older Coins.ph webhooks: `Authorization: Token ...`).
 * Ids and amounts may arrive as numbers or strings; both become exact strings.
 * Docs: docs/providers/coins.md.
 */
import * as v from "valibot";
import { decimalFromJsonNumber } from "../../decimal";
import type { MoneyStatus, NormalizedEvent, PartyStatus } from "../../event";
import { unixMillisToIso } from "../../time";
import { canonicalText, type RawMember, scalarText, topLevelMembers } from "../../verify/json-text";
import { type AdapterVerifyResult, lookup, type Normalized, type Provider, type SignedRequest, type SourceSecrets } from "../provider";
import { COINS_DEFAULT_TOLERANCE_SECONDS, type CoinsOptions, PEM_PUBLIC_KEY, publicKeyProblem, verifier } from "./verify";

const header = (fallback: string) => v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9-]+$/), v.toLowerCase()), fallback);

const Options = v.strictObject({
  /** How this source's webhooks are signed: agreed with Coins at onboarding. */
  scheme: v.optional(v.picklist(["rsa-sha256", "hmac-sha256", "token"])),
  /** rsa-sha256: Coins' PEM public key (SPKI, "BEGIN PUBLIC KEY"). Public: a var, not a secret. */
  publicKey: v.optional(v.pipe(v.string(), v.regex(PEM_PUBLIC_KEY, "must be a PEM public key (BEGIN PUBLIC KEY)"))),
  /** rsa-sha256: the header carrying the Base64 signature. */
  signatureHeader: header("x-signature"),
  /** hmac-sha256: the URL Coins signs, when it differs from the one the Worker sees (proxies). */
  signedUrl: v.optional(v.pipe(v.string(), v.url())),
  /** hmac-sha256: accepted clock difference in seconds, either way. */
  toleranceSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(3600)), COINS_DEFAULT_TOLERANCE_SECONDS),
  /** hmac-sha256: when set, X-Merchant-Key must equal it. */
  merchantKey: v.optional(v.pipe(v.string(), v.nonEmpty())),
  /** token: the header carrying the token, and the text before the token in it. */
  tokenHeader: header("authorization"),
  tokenPrefix: v.optional(v.string(), "Token "),
});
type Options = v.InferOutput<typeof Options>;

function configError(options: Options, secretCount: number): string | undefined {
  if (options.scheme === undefined) {
    return "scheme: Coins does not publish its webhook signature; set rsa-sha256, hmac-sha256 or token as agreed with Coins (docs/providers/coins.md)";
  }
  if (options.scheme === "rsa-sha256" && options.publicKey === undefined) return "publicKey: required by the rsa-sha256 scheme";
  if (options.scheme !== "rsa-sha256" && secretCount === 0) return `secrets: the ${options.scheme} scheme needs at least one secret`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Payloads. Coins' samples are not valid JSON (missing commas, bare words), so the real types
// of ids and amounts are unknown: both numbers and strings are accepted.

const idValue = v.union([v.pipe(v.number(), v.safeInteger()), v.pipe(v.string(), v.nonEmpty())]);
const amountValue = v.union([v.number(), v.pipe(v.string(), v.regex(/^-?\d+(\.\d+)?$/))]);
const text = v.optional(v.nullable(v.string()));

const UserStatus = v.looseObject({
  event: v.literal("USER_STATUS_UPDATE"),
  data: v.looseObject({ kycStatus: v.string(), kycLevel: text, userId: v.optional(idValue) }),
});
const TransactionStatus = v.looseObject({
  event: v.literal("TRANSACTION_STATUS_UPDATE"),
  data: v.looseObject({ status: v.string(), type: text, userId: v.optional(idValue), amount: v.optional(amountValue), currency: text }),
});
const orderData = v.looseObject({
  internalOrderId: idValue,
  externalOrderId: v.optional(idValue),
  status: v.string(),
  remarks: text,
  userId: v.optional(idValue),
  amount: v.optional(amountValue),
  currency: text,
});
const CashIn = v.looseObject({ event: v.literal("FIAT_CASH_IN_NOTIFICATION"), data: orderData });
const CashOut = v.looseObject({ event: v.literal("FIAT_CASH_OUT_NOTIFICATION"), data: orderData });
const transferData = {
  fromUserId: idValue,
  toUserId: idValue,
  amount: amountValue,
  currency: v.string(),
  status: v.string(),
  remarks: text,
};
const P2p = v.looseObject({
  event: v.literal("FIAT_P2P_TRANSFER_NOTIFICATION"),
  data: v.looseObject({ clientTxId: idValue, ...transferData }),
});
const Batch = v.looseObject({
  event: v.literal("FIAT_BATCH_TRANSFER_NOTIFICATION"),
  data: v.looseObject({ batchTxId: idValue, ...transferData }),
});
const Balance = v.looseObject({
  event: v.literal("BALANCE_CHANGE_EVENT"),
  data: v.looseObject({
    userId: idValue,
    currency: v.string(),
    available: amountValue,
    changed: v.optional(amountValue),
    type: text,
    clientTxId: v.optional(v.nullable(v.union([idValue, v.literal("")]))),
    time: v.pipe(v.number(), v.safeInteger()),
  }),
});
const Callback = v.variant("event", [UserStatus, TransactionStatus, CashIn, CashOut, P2p, Batch, Balance]);
type Callback = v.InferOutput<typeof Callback>;

// Status mappings (docs/providers/coins.md has the same tables). Coins' casing varies between
// samples (SUCCESS, success), so values are compared upper-cased.
export const COINS_ORDER_STATUS: Record<string, MoneyStatus> = {
  SUCCESS: "succeeded",
  SUCCEEDED: "succeeded",
  COMPLETED: "succeeded",
  FAILED: "failed",
  FAIL: "failed",
  PENDING: "pending",
  PROCESSING: "processing",
  CANCELLED: "cancelled",
  CANCELED: "cancelled",
  REJECTED: "rejected",
  EXPIRED: "expired",
};
export const COINS_KYC_STATUS: Record<string, PartyStatus> = {
  PASSED: "active",
  APPROVED: "active",
  PENDING: "pending",
  PROCESSING: "pending",
  REJECTED: "rejected",
  FAILED: "rejected",
  SUSPENDED: "suspended",
};
/** TRANSACTION_STATUS_UPDATE's direction, when its data says one; anything else is a transfer. */
export const COINS_TRANSACTION_TYPE: Record<string, "deposit.updated" | "withdrawal.updated"> = {
  DEPOSIT: "deposit.updated",
  CASH_IN: "deposit.updated",
  WITHDRAW: "withdrawal.updated",
  WITHDRAWAL: "withdrawal.updated",
  CASH_OUT: "withdrawal.updated",
};

/** Coins' values are compared upper-cased. */
function lookupUpper<T>(table: Record<string, T>, value: string | null | undefined): T | undefined {
  return lookup(table, (value ?? "").toUpperCase());
}

/** An id or amount of `data` as the exact text Coins sent (number digits or string value). */
function exactText(data: ReadonlyMap<string, RawMember> | undefined, key: string): string | undefined {
  return scalarText(data?.get(key));
}

function exactAmount(data: ReadonlyMap<string, RawMember> | undefined, key: string, currency: string | null | undefined) {
  const t = exactText(data, key);
  const value = t === undefined ? undefined : decimalFromJsonNumber(t);
  return value !== undefined && currency ? { value, currency } : undefined;
}

/** An idempotency key: the event name and the exact texts that tell its events apart, unambiguously joined. */
const keyOf = (event: string, parts: readonly (string | undefined)[]) => `${event}:${JSON.stringify(parts.map((p) => p ?? null))}`;

function normalize(cb: Callback, body: string): Normalized | { unmapped: string } {
  // Every id in a key or account is the exact text Coins sent (number digits or string value),
  // never a double: two ids above 2^53 that differ in one digit stay two events.
  const dataMember = topLevelMembers(body)?.get("data");
  const raw = dataMember?.kind === "object" ? topLevelMembers(dataMember.raw) : undefined;
  const exactData = dataMember === undefined ? undefined : canonicalText(dataMember.raw);
  if (raw === undefined || exactData === undefined) return { unmapped: "data is not readable as exact text" };
  const idText = (key: string) => exactText(raw, key) ?? "";
  const failure = (remarks: string | null | undefined) => (remarks ? { failureReason: remarks } : {});
  let event: NormalizedEvent;
  let accountKey: string;
  let idempotencyKey: string;
  let time: string | undefined;

  switch (cb.event) {
    case "USER_STATUS_UPDATE": {
      const status = lookupUpper(COINS_KYC_STATUS, cb.data.kycStatus);
      if (status === undefined) return { unmapped: `kycStatus ${cb.data.kycStatus}` };
      event = {
        type: "customer.updated",
        data: { status, providerStatus: cb.data.kycStatus, ...(cb.data.kycLevel && { accessLevel: cb.data.kycLevel }) },
      };
      // Coins' sample names no user; all such updates then share one account, and the key is
      // the whole data, so two different updates can never be taken for one.
      accountKey = cb.data.userId === undefined ? "users" : idText("userId");
      idempotencyKey = `${cb.event}:${exactData}`;
      break;
    }
    case "TRANSACTION_STATUS_UPDATE": {
      const status = lookupUpper(COINS_ORDER_STATUS, cb.data.status);
      if (status === undefined) return { unmapped: `status ${cb.data.status}` };
      const amount = exactAmount(raw, "amount", cb.data.currency);
      event = {
        type: lookupUpper(COINS_TRANSACTION_TYPE, cb.data.type) ?? "transfer.updated",
        data: {
          status,
          providerStatus: cb.data.status,
          ...(amount && { amount }),
          ...(idText("orderId") && { orderId: idText("orderId") }),
        },
      };
      accountKey = cb.data.userId === undefined ? "orders" : idText("userId");
      idempotencyKey = `${cb.event}:${exactData}`;
      break;
    }
    case "FIAT_CASH_IN_NOTIFICATION":
    case "FIAT_CASH_OUT_NOTIFICATION": {
      const status = lookupUpper(COINS_ORDER_STATUS, cb.data.status);
      if (status === undefined) return { unmapped: `status ${cb.data.status}` };
      const amount = exactAmount(raw, "amount", cb.data.currency);
      event = {
        type: cb.event === "FIAT_CASH_IN_NOTIFICATION" ? "deposit.updated" : "withdrawal.updated",
        data: {
          status,
          providerStatus: cb.data.status,
          orderId: idText("internalOrderId"),
          ...(amount && { amount }),
          ...failure(cb.data.remarks),
        },
      };
      accountKey = cb.data.userId === undefined ? "orders" : idText("userId");
      idempotencyKey = keyOf(cb.event, [exactText(raw, "internalOrderId"), exactText(raw, "externalOrderId"), cb.data.status]);
      break;
    }
    case "FIAT_P2P_TRANSFER_NOTIFICATION":
    case "FIAT_BATCH_TRANSFER_NOTIFICATION": {
      const status = lookupUpper(COINS_ORDER_STATUS, cb.data.status);
      if (status === undefined) return { unmapped: `status ${cb.data.status}` };
      const amount = exactAmount(raw, "amount", cb.data.currency);
      if (amount === undefined) return { unmapped: "amount" };
      const txId = idText(cb.event === "FIAT_P2P_TRANSFER_NOTIFICATION" ? "clientTxId" : "batchTxId");
      event = {
        type: "transfer.updated",
        data: {
          status,
          providerStatus: cb.data.status,
          amount,
          orderId: txId,
          fromAccount: idText("fromUserId"),
          toAccount: idText("toUserId"),
          ...failure(cb.data.remarks),
        },
      };
      accountKey = idText("fromUserId");
      // A batch sends one notification per recipient under one batchTxId: the recipient and
      // the amount tell them apart (two lines identical in all of these are the same bytes).
      idempotencyKey = keyOf(
        cb.event,
        cb.event === "FIAT_P2P_TRANSFER_NOTIFICATION"
          ? [txId, cb.data.status]
          : [txId, idText("toUserId"), amount.value, amount.currency, cb.data.status],
      );
      break;
    }
    case "BALANCE_CHANGE_EVENT": {
      const balance = exactAmount(raw, "available", cb.data.currency);
      const change = exactAmount(raw, "changed", cb.data.currency);
      if (balance === undefined) return { unmapped: "available" };
      event = {
        type: "balance.updated",
        // A balance event means the balance account is in use.
        data: {
          status: "active",
          providerStatus: cb.data.type ?? "BALANCE_CHANGE",
          balance,
          ...(change && { change }),
          ...(cb.data.type && { reason: cb.data.type }),
          ...(idText("clientTxId") && { reference: idText("clientTxId") }),
        },
      };
      accountKey = idText("userId");
      idempotencyKey = keyOf(cb.event, [idText("userId"), cb.data.currency, idText("time"), exactText(raw, "clientTxId")]);
      time = unixMillisToIso(cb.data.time);
      break;
    }
  }
  return { event, accountKey, idempotencyKey, ...(time !== undefined && { time }) };
}

/** Verifies; a refusal caused by a public key that passed config's PEM check but does not import is a configuration fault. */
async function verify(request: SignedRequest, keys: SourceSecrets<Options>): Promise<AdapterVerifyResult> {
  const result = await verifier.verify(request, keys.secrets, keys.options as CoinsOptions);
  if (result.ok || result.reason !== "no_secret" || keys.options.publicKey === undefined) return result;
  const problem = await publicKeyProblem(keys.options.publicKey);
  return problem === undefined ? result : { ...result, config: `coins publicKey does not import: ${problem}` };
}

export const provider: Provider<Options, Callback> = {
  name: verifier.name,
  options: Options,
  secretBindings: () => [],
  configError,
  verify,
  schema: Callback,
  normalize,
  ack: { body: "OK", contentType: "text/plain; charset=utf-8" },
};
