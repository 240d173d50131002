/**
 * KillB (Latin American fiat/crypto ramps).
 * Scheme (docs.killb.com "Webhook security"): header `x-signature-sha256` = lowercase hex
 * HMAC-SHA256(webhook secret, raw body). No timestamp header: the envelope's `attempts` is inside
 * the signed body, so every retry has new bytes and a new signature; dedupe is on the envelope
 * `id`. Reply: 200 `{"received":true}`. Docs: docs/providers/killb.md.
 */
import * as v from "valibot";
import { decimalFromJsonNumber } from "../../decimal";
import type { MoneyStatus, NormalizedEvent, PartyStatus } from "../../event";
import { nestedMembers, type RawMember, scalarText } from "../../verify/json-text";
import { lookup, type Normalized, type Provider } from "../provider";
import { verifier } from "./verify";

const Options = v.strictObject({});
type Options = v.InferOutput<typeof Options>;

const id = v.pipe(v.string(), v.nonEmpty());
const amount = v.union([v.number(), v.pipe(v.string(), v.regex(/^-?\d+(\.\d+)?$/))]);
const action = v.picklist(["CREATE", "UPDATE", "DELETE"]);
const envelope = {
  id,
  action,
  createdAt: v.optional(v.string()),
  updatedAt: v.optional(v.string()),
  attempts: v.optional(v.number()),
};

const Ramp = v.looseObject({
  ...envelope,
  event: v.literal("RAMP"),
  data: v.looseObject({
    id,
    userId: id,
    type: v.optional(v.string()),
    status: v.string(),
    fromCurrency: v.optional(v.string()),
    toCurrency: v.optional(v.string()),
    fromAmount: v.optional(amount),
    toAmount: v.optional(amount),
    transferProof: v.optional(v.nullable(v.string())),
  }),
});
const User = v.looseObject({
  ...envelope,
  event: v.literal("USER"),
  data: v.looseObject({
    id,
    type: v.optional(v.string()),
    status: v.string(),
    externalId: v.optional(v.nullable(v.string())),
    accessLevel: v.optional(v.string()),
  }),
});
const Account = v.looseObject({
  ...envelope,
  event: v.literal("ACCOUNT"),
  data: v.looseObject({
    id,
    userId: v.optional(id),
    type: v.optional(v.string()),
    status: v.string(),
    externalId: v.optional(v.nullable(v.string())),
  }),
});
const Transaction = v.looseObject({
  ...envelope,
  event: v.literal("TRANSACTION"),
  data: v.looseObject({
    id,
    userId: id,
    type: v.string(),
    status: v.string(),
    amount: v.optional(amount),
    currency: v.optional(v.string()),
    method: v.optional(v.string()),
  }),
});
const CustodialAccount = v.looseObject({
  ...envelope,
  event: v.literal("CUSTODIAL_ACCOUNT"),
  data: v.looseObject({
    id,
    userId: id,
    status: v.string(),
    balance: v.optional(amount),
    currency: v.optional(v.string()),
    changeAmount: v.optional(amount),
    changeReason: v.optional(v.string()),
  }),
});
const Callback = v.variant("event", [Ramp, User, Account, Transaction, CustodialAccount]);
type Callback = v.InferOutput<typeof Callback>;

// Status mappings (docs/providers/killb.md has the same tables).
export const KILLB_RAMP_STATUS: Record<string, MoneyStatus> = {
  CREATED: "pending",
  CASH_IN_PROCESSING: "processing",
  CASH_IN_COMPLETED: "processing",
  CONVERSION_PROCESSING: "processing",
  CONVERSION_COMPLETED: "processing",
  CASH_OUT_PROCESSING: "processing",
  COMPLETED: "succeeded",
  FAILED: "failed",
  CANCELED: "cancelled",
};
export const KILLB_USER_STATUS: Record<string, PartyStatus> = {
  PENDING: "pending",
  ACTIVE: "active",
  REJECTED: "rejected",
  SUSPENDED: "suspended",
};
export const KILLB_ACCOUNT_STATUS: Record<string, PartyStatus> = {
  PENDING: "pending",
  ACTIVE: "active",
  REJECTED: "rejected",
  INACTIVE: "suspended",
};
/** Transaction statuses are not listed by KillB beyond COMPLETED; these are the usual ones. */
export const KILLB_TRANSACTION_STATUS: Record<string, MoneyStatus> = {
  CREATED: "pending",
  PENDING: "pending",
  PROCESSING: "processing",
  COMPLETED: "succeeded",
  FAILED: "failed",
  CANCELED: "cancelled",
  CANCELLED: "cancelled",
  REJECTED: "rejected",
};
/** Money in → deposit.updated; money out → withdrawal.updated. */
export const KILLB_TRANSACTION_TYPE = {
  DEPOSIT: "deposit.updated",
  INTEREST: "deposit.updated",
  WITHDRAWAL: "withdrawal.updated",
  FEE: "withdrawal.updated",
} as const;
/** Custodial (balance) account statuses: the account's own state. */
export const KILLB_CUSTODIAL_STATUS: Record<string, PartyStatus> = {
  ACTIVE: "active",
  INACTIVE: "suspended",
  SUSPENDED: "suspended",
  CLOSED: "closed",
};

/** An amount from the JSON text of `data`, so `23.81` stays "23.81" and never passes a double. */
function exact(data: ReadonlyMap<string, RawMember> | undefined, key: string): string | undefined {
  const text = scalarText(data?.get(key));
  return text === undefined ? undefined : decimalFromJsonNumber(text);
}

function money(value: string | undefined, currency: string | undefined) {
  return value !== undefined && currency ? { value, currency } : undefined;
}

function normalize(cb: Callback, text: string): Normalized | { unmapped: string } {
  // Amounts come from the exact JSON text of `data`; a body whose text cannot be read that way
  // is quarantined rather than delivered without its amounts.
  const raw = nestedMembers(text, "data");
  if (raw === undefined) return { unmapped: "data is not readable as exact text" };
  const time = cb.updatedAt ?? cb.createdAt;
  const base = {
    idempotencyKey: cb.id,
    ...(time !== undefined && !Number.isNaN(Date.parse(time)) && { time: new Date(time).toISOString() }),
  };
  let event: NormalizedEvent;
  let accountKey: string;
  const deleted = cb.action === "DELETE";

  switch (cb.event) {
    case "RAMP": {
      const status = deleted ? "cancelled" : lookup(KILLB_RAMP_STATUS, cb.data.status);
      if (status === undefined) return { unmapped: `RAMP status ${cb.data.status}` };
      const from = money(exact(raw, "fromAmount"), cb.data.fromCurrency);
      const to = money(exact(raw, "toAmount"), cb.data.toCurrency);
      event = {
        type: "ramp.updated",
        data: {
          status,
          providerStatus: cb.data.status,
          orderId: cb.data.id,
          ...(from && { amount: from }),
          ...(to && { toAmount: to }),
          ...(cb.data.type && { direction: cb.data.type }),
          ...(cb.data.transferProof && { transferProof: cb.data.transferProof }),
        },
      };
      accountKey = cb.data.userId;
      break;
    }
    case "USER": {
      const status = deleted ? "closed" : lookup(KILLB_USER_STATUS, cb.data.status);
      if (status === undefined) return { unmapped: `USER status ${cb.data.status}` };
      event = {
        type: "customer.updated",
        data: {
          status,
          providerStatus: cb.data.status,
          ...(cb.data.accessLevel && { accessLevel: cb.data.accessLevel }),
          ...(cb.data.externalId && { externalId: cb.data.externalId }),
          ...(cb.data.type && { kind: cb.data.type }),
        },
      };
      accountKey = cb.data.id;
      break;
    }
    case "ACCOUNT": {
      const status = deleted ? "closed" : lookup(KILLB_ACCOUNT_STATUS, cb.data.status);
      if (status === undefined) return { unmapped: `ACCOUNT status ${cb.data.status}` };
      event = {
        type: "payment_account.updated",
        data: {
          status,
          providerStatus: cb.data.status,
          ...(cb.data.externalId && { externalId: cb.data.externalId }),
          ...(cb.data.type && { kind: cb.data.type }),
        },
      };
      // Accounts belong to a user when KillB says which; otherwise each account is its own unit.
      accountKey = cb.data.userId ?? cb.data.id;
      break;
    }
    case "TRANSACTION": {
      const type = lookup(KILLB_TRANSACTION_TYPE, cb.data.type);
      if (type === undefined) return { unmapped: `TRANSACTION type ${cb.data.type}` };
      const status = deleted ? "cancelled" : lookup(KILLB_TRANSACTION_STATUS, cb.data.status);
      if (status === undefined) return { unmapped: `TRANSACTION status ${cb.data.status}` };
      const value = money(exact(raw, "amount"), cb.data.currency);
      event = {
        type,
        data: {
          status,
          providerStatus: cb.data.status,
          orderId: cb.data.id,
          ...(value && { amount: value }),
          ...(cb.data.method && { method: cb.data.method }),
        },
      };
      accountKey = cb.data.userId;
      break;
    }
    case "CUSTODIAL_ACCOUNT": {
      const status = deleted ? "closed" : lookup(KILLB_CUSTODIAL_STATUS, cb.data.status);
      if (status === undefined) return { unmapped: `CUSTODIAL_ACCOUNT status ${cb.data.status}` };
      const balance = money(exact(raw, "balance"), cb.data.currency);
      const change = money(exact(raw, "changeAmount"), cb.data.currency);
      event = {
        type: "balance.updated",
        data: {
          status,
          providerStatus: cb.data.status,
          ...(balance && { balance }),
          ...(change && { change }),
          ...(cb.data.changeReason && { reason: cb.data.changeReason }),
        },
      };
      accountKey = cb.data.userId;
      break;
    }
  }
  return { event, accountKey, ...base };
}

export const provider: Provider<Options, Callback> = {
  name: verifier.name,
  options: Options,
  secretBindings: () => [],
  verify: (request, keys) => verifier.verify(request, keys.secrets, {}),
  schema: Callback,
  normalize,
  ack: { body: '{"received":true}', contentType: "application/json" },
};
