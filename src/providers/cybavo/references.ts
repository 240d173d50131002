/**
 * CYBAVO's own references (docs/providers/cybavo.md "References"): the callback's `serial` (its
 * id at CYBAVO), the chain's `txid` and the merchant's `order_id` when set.
 */
import { topLevelMembers } from "../../verify/json-text";
import { type References, scalarsOf } from "../references";

export const references: References = (payloadText) => scalarsOf(topLevelMembers(payloadText), ["serial", "txid", "order_id"]);
