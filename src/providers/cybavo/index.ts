/**
 * CYBAVO SOFA wallet callbacks.
 * Verification (X-CHECKSUM = base64url SHA-256 of body ‖ secret) is in ./verify.ts.
 * Reply: 200 `OK`.
 * Docs: docs/providers/cybavo.md.
 */
import * as v from "valibot";
import { fromSmallestUnit } from "../../decimal";
import type { MoneyMovementData, MoneyStatus } from "../../event";
import { unixSecondsToIso } from "../../time";
import { topLevelMembers } from "../../verify/json-text";
import type { Normalized, Provider } from "../provider";
import { verifier } from "./verify";

const Options = v.strictObject({
  /** wallet_id → secret binding names (newest first), for deployments with one API code per wallet. */
  walletSecrets: v.optional(v.record(v.pipe(v.string(), v.regex(/^\d+$/)), v.pipe(v.array(v.string()), v.minLength(1)))),
});
type Options = v.InferOutput<typeof Options>;

const integer = v.pipe(v.number(), v.safeInteger());
const smallestUnits = v.pipe(v.string(), v.regex(/^\d+$/));

const Addon = v.looseObject({
  err_reason: v.optional(v.string()),
  fee_decimal: v.optional(v.pipe(integer, v.minValue(0))),
  blocklist_tags: v.optional(v.array(v.string())),
  aml_tags: v.optional(v.unknown()),
  // Types undocumented by CYBAVO: carried through as sent, never a reason to quarantine.
  aml_screen_pass: v.optional(v.unknown()),
  address_label: v.optional(v.string()),
});

const callbackFields = {
  serial: integer,
  order_id: v.optional(v.string()),
  currency: v.string(),
  txid: v.optional(v.string()),
  block_height: v.optional(integer),
  vout_index: v.optional(integer),
  amount: smallestUnits,
  fees: v.optional(v.union([smallestUnits, v.literal("")])),
  memo: v.optional(v.string()),
  broadcast_at: v.optional(integer),
  chain_at: v.optional(integer),
  from_address: v.optional(v.string()),
  to_address: v.optional(v.string()),
  wallet_id: integer,
  state: integer,
  confirm_blocks: v.optional(integer),
  processing_state: integer,
  addon: v.optional(Addon),
  decimal: v.pipe(integer, v.minValue(0)),
  currency_bip44: v.optional(integer),
  token_address: v.optional(v.string()),
};

const Deposit = v.looseObject({ type: v.literal(1), ...callbackFields });
const Withdraw = v.looseObject({ type: v.literal(2), ...callbackFields });
const Collect = v.looseObject({ type: v.literal(3), ...callbackFields });
const Airdrop = v.looseObject({ type: v.literal(4), ...callbackFields });
const Callback = v.variant("type", [Deposit, Withdraw, Collect, Airdrop]);
type Callback = v.InferOutput<typeof Callback>;

const EVENT_TYPE = { 1: "deposit.updated", 2: "withdrawal.updated", 3: "transfer.updated", 4: "deposit.updated" } as const;

/**
 * `state` + `processing_state` → normalized status. State 3 ("in chain") is only final once
 * `processing_state` is 2 (enough confirmations). Documented in docs/providers/cybavo.md.
 */
export function cybavoStatus(state: number, processingState: number): MoneyStatus | undefined {
  switch (state) {
    case 1:
    case 2:
      return "processing";
    case 3:
      return processingState === 2 ? "succeeded" : "processing";
    case 5:
    case 10:
    case 11:
      return "failed";
    case 8:
      return "cancelled";
    default:
      return undefined;
  }
}

/** The per-wallet secret map with binding names replaced by their values (cached per options object). */
const walletSecretCache = new WeakMap<object, Record<string, string[]>>();
function walletSecretValues(options: Options, named: ReadonlyMap<string, string>): Record<string, string[]> | undefined {
  if (options.walletSecrets === undefined) return undefined;
  let values = walletSecretCache.get(options);
  if (values === undefined) {
    values = Object.fromEntries(
      Object.entries(options.walletSecrets).map(([wallet, names]) => [wallet, names.flatMap((name) => named.get(name) ?? [])]),
    );
    walletSecretCache.set(options, values);
  }
  return values;
}

const DIGITS = /^(0|[1-9]\d*)$/;

function normalize(cb: Callback, text: string): Normalized | { unmapped: string } {
  // Identity is read from the signed text as sent: `serial` and `wallet_id` must be plain
  // integer digits (`7.0` or `7e0` parse to 7 but are other bytes), so one callback can never
  // be filed under an id or account that another spelling of it also reaches.
  const members = topLevelMembers(text);
  const serial = members?.get("serial");
  const wallet = members?.get("wallet_id");
  if (serial?.kind !== "number" || !DIGITS.test(serial.raw)) return { unmapped: "serial is not an integer" };
  if (wallet?.kind !== "number" || !DIGITS.test(wallet.raw)) return { unmapped: "wallet_id is not an integer" };
  const status = cybavoStatus(cb.state, cb.processing_state);
  if (status === undefined) return { unmapped: `state ${cb.state}` };
  const value = fromSmallestUnit(cb.amount, cb.decimal);
  if (value === undefined) return { unmapped: "amount" };
  const addon = cb.addon ?? {};
  const data: Omit<MoneyMovementData, "payload"> = {
    status,
    providerStatus: `${cb.state}/${cb.processing_state}`,
    amount: { value, currency: cb.currency },
  };
  // Without `fee_decimal` a token transfer's fee (paid in the native coin) has unknown decimals.
  const feeDecimals = addon.fee_decimal ?? (cb.token_address ? undefined : cb.decimal);
  if (cb.fees && feeDecimals !== undefined) {
    const fee = fromSmallestUnit(cb.fees, feeDecimals);
    // Fees are paid in the chain's native coin: for a token transfer that is not `currency`, so
    // the fee's currency is named by its BIP-44 coin type, as CYBAVO recommends.
    const feeCurrency = cb.token_address ? `bip44:${cb.currency_bip44 ?? "unknown"}` : cb.currency;
    if (fee !== undefined) data.fee = { value: fee, currency: feeCurrency };
  }
  if (cb.txid) data.txHash = cb.txid;
  if (cb.from_address) data.fromAddress = cb.from_address;
  if (cb.to_address) data.toAddress = cb.to_address;
  if (cb.memo) data.memo = cb.memo;
  if (cb.confirm_blocks !== undefined && cb.confirm_blocks >= 0) data.confirmations = cb.confirm_blocks;
  if (cb.block_height) data.blockHeight = String(cb.block_height);
  if (cb.order_id) data.orderId = cb.order_id;
  if (addon.err_reason) data.failureReason = addon.err_reason;
  if (addon.aml_screen_pass !== undefined || addon.blocklist_tags !== undefined || addon.aml_tags !== undefined) {
    data.aml = {
      ...(typeof addon.aml_screen_pass === "boolean" && { screenPass: addon.aml_screen_pass }),
      ...(addon.blocklist_tags !== undefined && { blocklistTags: addon.blocklist_tags }),
      ...(addon.aml_tags !== undefined && { tags: addon.aml_tags }),
    };
  }
  const time = unixSecondsToIso(cb.chain_at || cb.broadcast_at || 0);
  return {
    event: { type: EVENT_TYPE[cb.type], data },
    idempotencyKey: serial.raw,
    accountKey: wallet.raw,
    ...(time !== undefined && { time }),
  };
}

export const provider: Provider<Options, Callback> = {
  name: verifier.name,
  options: Options,
  secretBindings: (options) => Object.values(options.walletSecrets ?? {}).flat(),
  verify: (request, keys) => verifier.verify(request, keys.secrets, { walletSecrets: walletSecretValues(keys.options, keys.named) }),
  schema: Callback,
  normalize,
  ack: { body: "OK", contentType: "text/plain; charset=utf-8" },
};
