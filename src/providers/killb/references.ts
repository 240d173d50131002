/**
 * KillB's own references (docs/providers/killb.md "References"): the callback's `id` (its event
 * id at KillB), and from `data` the object's `id` (ramp, transaction, user or account), the
 * merchant's `externalId` and a ramp's `transferProof`.
 */
import { topLevelMembers } from "../../verify/json-text";
import { objectAt, type References, scalarsOf } from "../references";

export const references: References = (payloadText) => {
  const members = topLevelMembers(payloadText);
  return [...scalarsOf(members, ["id"]), ...scalarsOf(objectAt(members, "data"), ["id", "externalId", "transferProof"])];
};
