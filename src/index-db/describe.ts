/**
 * What the operators' index says about an event beyond its state: its amount and currency and
 * the references an operator searches by, read from the CloudEvent the ledger stored (the
 * normalized `data` and the provider's payload in it, as exact JSON text: a 17-digit serial
 * keeps its digits). An event whose body is gone (pruned or erased) or a quarantined callback
 * has none of these.
 *
 * Rules (docs/operations.md "The operators' index"):
 * - amount and currency: the first of `data.amount`, `data.paidAmount`, `data.toAmount`,
 *   `data.change`, `data.balance` that is there (what moved, else what was paid or received,
 *   else a balance's change, else the balance);
 * - references: `data.orderId`, `txHash`, `reference`, `externalId`, `messageId`,
 *   `transferProof`, and the provider's own (its `references` function:
 *   src/providers/<name>/references.ts), each non-empty, at most REF_CHARS characters, without
 *   repeats, sorted, at most MAX_REFS of them.
 */

import { references as coins } from "../providers/coins/references";
import { references as cregis } from "../providers/cregis/references";
import { references as cybavo } from "../providers/cybavo/references";
import { references as killb } from "../providers/killb/references";
import { type References, scalarsOf } from "../providers/references";
import type { ProviderName } from "../providers/registry";
import { type RawMember, scalarText, stringValue, topLevelMembers } from "../verify/json-text";

/** Providers with references of their own beyond the normalized event's (Cabital's and Standard Webhooks' are all in it). */
const PROVIDER_REFERENCES: Partial<Record<ProviderName, References>> = { cybavo, cregis, killb, coins };

const DATA_REFERENCES = ["orderId", "txHash", "reference", "externalId", "messageId", "transferProof"] as const;
const AMOUNT_MEMBERS = ["amount", "paidAmount", "toAmount", "change", "balance"] as const;

/** A reference longer than this is not one an operator types: left out rather than cut (search is by exact match). */
export const REF_CHARS = 200;
export const MAX_REFS = 16;

export interface Description {
  readonly amount: string | null;
  readonly currency: string | null;
  readonly refs: string[];
}

const NONE: Description = { amount: null, currency: null, refs: [] };

function amountOf(data: ReadonlyMap<string, RawMember>): Pick<Description, "amount" | "currency"> {
  for (const key of AMOUNT_MEMBERS) {
    const member = data.get(key);
    const money = member?.kind === "object" ? topLevelMembers(member.raw) : undefined;
    const value = scalarText(money?.get("value"));
    const currency = scalarText(money?.get("currency"));
    if (value !== undefined && currency !== undefined) return { amount: value, currency };
  }
  return { amount: null, currency: null };
}

/** The index's description of a stored CloudEvent (`body`: the JSON the outbox sends); nothing when there is none. */
export function describeEvent(body: string | null): Description {
  if (body === null) return NONE;
  const envelope = topLevelMembers(body);
  const dataMember = envelope?.get("data");
  const data = dataMember?.kind === "object" ? topLevelMembers(dataMember.raw) : undefined;
  if (envelope === undefined || data === undefined) return NONE;
  const providerMember = envelope.get("provider");
  const provider = providerMember === undefined ? undefined : stringValue(providerMember);
  const own = provider === undefined ? undefined : PROVIDER_REFERENCES[provider as ProviderName];
  const payload = data.get("payload");
  const found = [...scalarsOf(data, DATA_REFERENCES), ...(own !== undefined && payload !== undefined ? own(payload.raw) : [])];
  const refs = [...new Set(found.filter((ref) => ref.length <= REF_CHARS))].sort().slice(0, MAX_REFS);
  return { ...amountOf(data), refs };
}
