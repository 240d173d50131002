/**
 * JSON read as text, for input that is not yet verified or whose numbers must keep their digits:
 * the members of an object as raw text, the strict check of a whole body, and canonical JSON.
 * Hostile input never throws: anything malformed, or a duplicated key (which parsers resolve
 * differently), yields undefined. Unverified input is never given to `JSON.parse` as a whole:
 * workerd's can misread an escaped object key (test/forged-cost.test.ts), so only single string
 * tokens are (`decodeString` in ./json/tokens.ts).
 *
 * This module is the readers' one entry; each role is a module of ./json/:
 * - tokens.ts: whitespace, digits and string tokens read in place on code units;
 * - scanner.ts: the position in a text and the moves that skip a whole value (MAX_JSON_DEPTH);
 * - members.ts: an object's top-level members as raw text (`topLevelMembers`, `topLevelMember`);
 * - check.ts: the strict check of a verified body (`jsonProblem`);
 * - canonical.ts: canonical JSON from a value or from raw text.
 */

export { canonicalJson, canonicalJsonText, canonicalText } from "./json/canonical";
export { type JsonProblem, jsonProblem } from "./json/check";
export {
  type MemberLimits,
  nestedMembers,
  type RawMember,
  scalarText,
  stringValue,
  topLevelMember,
  topLevelMembers,
  topLevelMembersWithin,
} from "./json/members";
export { type JsonKind, MAX_JSON_DEPTH } from "./json/scanner";
