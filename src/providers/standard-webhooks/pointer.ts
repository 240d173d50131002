/**
 * RFC 6901 JSON Pointers over a verified body's exact text, for the values a source names by
 * pointer (its account, the sender's event type). Read from the raw text, never through a double:
 * a numeric account id keeps every digit as sent. Object members only: a pointer that reaches an
 * array or a scalar before its last token names nothing. The text has passed `jsonProblem` (one
 * JSON value, no repeated key, bounded depth), so every object on the way reads unambiguously.
 */
import { type RawMember, scalarText, stringValue, topLevelMembers } from "../../verify/json-text";

// "/" then reference tokens; "~" only as "~0" ("~") or "~1" ("/"). The whole text ("") is not a
// member, so it is not accepted.
const POINTER = /^(\/([^~]|~[01])*)+$/;

/** The reference tokens of a pointer, unescaped (`~1` before `~0`, as RFC 6901 asks); undefined if it is not one. */
export function pointerTokens(pointer: string): string[] | undefined {
  if (!POINTER.test(pointer)) return undefined;
  return pointer
    .slice(1)
    .split("/")
    .map((token) => token.replaceAll("~1", "/").replaceAll("~0", "~"));
}

/** What a pointer names in a JSON text: the member, or why there is none. */
export type PointerRead = { member: RawMember } | { missing: string };

/** Follows `pointer` (already checked by config) through the objects of `text`. */
export function readPointer(text: string, pointer: string): PointerRead {
  const tokens = pointerTokens(pointer) ?? [];
  let members = topLevelMembers(text);
  let at = "the body";
  for (const [i, token] of tokens.entries()) {
    if (members === undefined) return { missing: `${at} is not an object` };
    const member = members.get(token);
    if (member === undefined) return { missing: `no member ${JSON.stringify(token)} in ${at}` };
    if (i === tokens.length - 1) return { member };
    at = `/${tokens
      .slice(0, i + 1)
      .map((t) => t.replaceAll("~", "~0").replaceAll("/", "~1"))
      .join("/")}`;
    members = member.kind === "object" ? topLevelMembers(member.raw) : undefined;
  }
  return { missing: "an empty pointer" };
}

/** The string or number a pointer names, as text (a string decoded, a number's exact digits), or why it names none. */
export function readScalar(text: string, pointer: string): { value: string } | { missing: string } {
  const read = readPointer(text, pointer);
  if ("missing" in read) return read;
  const value = read.member.kind === "string" || read.member.kind === "number" ? scalarText(read.member) : undefined;
  return value === undefined ? { missing: `it names ${kindName(read.member)}, not a string or number` } : { value };
}

/** The string a pointer names, decoded; undefined when it names nothing or something else. */
export function readString(text: string, pointer: string): string | undefined {
  const read = readPointer(text, pointer);
  return "member" in read ? stringValue(read.member) : undefined;
}

const kindName = (member: RawMember) =>
  member.kind === "true" || member.kind === "false" ? "a boolean" : member.kind === "null" ? "null" : `an ${member.kind}`;
