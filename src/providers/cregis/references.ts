/**
 * Cregis' own references (docs/providers/cregis.md "References"): the WaaS callback's `cid` (its
 * id at Cregis), the merchant's `third_party_id` and the chain's `txid`; for the payment engine,
 * the order's `cregis_id`, the merchant's `order_id`, and the transactions' `tx_id`,
 * `additional_payment_tx_id` and `refund_id` (from `data`, an object or a JSON string).
 */
import { topLevelMembers } from "../../verify/json-text";
import { objectAt, type References, scalarsOf } from "../references";

export const references: References = (payloadText) => {
  const members = topLevelMembers(payloadText);
  return [
    ...scalarsOf(members, ["cid", "third_party_id", "txid"]),
    ...scalarsOf(objectAt(members, "data"), ["cregis_id", "order_id", "tx_id", "additional_payment_tx_id", "refund_id"]),
  ];
};
