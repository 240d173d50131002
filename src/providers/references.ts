/**
 * What the providers' `references` functions share: reading an object's members as the text the
 * provider sent (a 17-digit serial keeps its digits) and keeping the non-empty scalars. A
 * provider's own references are the ids it gives its events and orders beyond what the normalized
 * event names (docs/providers/<name>.md "References"): the operators' index is searched by them
 * (src/index-db/describe.ts). They read the payload the gateway stored, which was verified.
 */
import { type RawMember, scalarText, stringValue, topLevelMembers } from "../verify/json-text";

/** A provider's references, from its payload's exact JSON text. */
export type References = (payloadText: string) => string[];

/** The non-empty scalar values of `keys` among `members`, as sent. */
export function scalarsOf(members: ReadonlyMap<string, RawMember> | undefined, keys: readonly string[]): string[] {
  if (members === undefined) return [];
  return keys.flatMap((key) => {
    const text = scalarText(members.get(key));
    return text === undefined || text === "" ? [] : [text];
  });
}

/** The members of the object at `key`, or of the JSON object text a string at `key` holds (Cregis may send `data` either way). */
export function objectAt(members: ReadonlyMap<string, RawMember> | undefined, key: string): ReadonlyMap<string, RawMember> | undefined {
  const member = members?.get(key);
  if (member?.kind === "object") return topLevelMembers(member.raw);
  const text = member === undefined ? undefined : stringValue(member);
  return text === undefined ? undefined : topLevelMembers(text);
}
