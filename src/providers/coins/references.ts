/**
 * Coins' own references (docs/providers/coins.md "References"), from `data`: the order ids
 * (`orderId`, `internalOrderId`, `externalOrderId`) and the transfer ids (`clientTxId`,
 * `batchTxId`).
 */
import { topLevelMembers } from "../../verify/json-text";
import { objectAt, type References, scalarsOf } from "../references";

export const references: References = (payloadText) =>
  scalarsOf(objectAt(topLevelMembers(payloadText), "data"), ["orderId", "internalOrderId", "externalOrderId", "clientTxId", "batchTxId"]);
