/**
 * Reads the operators' index filter from a request (query parameters, or the JSON `filter` of a
 * bulk job) with the schemas the OpenAPI document shows (src/admin-api/events.ts), into the
 * IndexFilter that ./filter.ts turns into SQL: times become Unix ms.
 */
import type * as v from "valibot";
import { toMillis } from "../admin-api/common";
import { FILTER_ENTRIES, IndexEventsQuery, IndexFilter as IndexFilterSchema } from "../admin-api/events";
import { type Parsed, parseInput } from "../admin-api/parse";
import { DEFAULT_PAGE, decodeCursor, type IndexFilter } from "./filter";

/** The filter's fields of a validated query or body, times as Unix ms. */
export function filterOf(output: Record<string, unknown>): IndexFilter {
  const filter: Record<string, unknown> = {};
  for (const key of Object.keys(FILTER_ENTRIES)) {
    const value = output[key];
    if (value === undefined) continue;
    filter[key] = key === "from" || key === "to" ? toMillis(value) : value;
  }
  return filter as IndexFilter;
}

/**
 * Reads a filter from query parameters or from JSON (a bulk job's `filter`). Unknown keys are
 * refused, so a misspelt `stauts=dead` never widens a bulk action to every event.
 */
export function parseFilter(input: unknown): Parsed<IndexFilter> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return { ok: false, error: "filter must be an object" };
  const parsed = parseInput(IndexFilterSchema, input as Record<string, unknown>);
  return parsed.ok ? { ok: true, value: filterOf(parsed.value) } : parsed;
}

export interface PageRequest {
  readonly filter: IndexFilter;
  readonly cursor?: string;
  readonly limit: number;
}

/** A page query's schema: its output has the filter's fields (or some of them), and `cursor` and `limit` when it pages. */
type PageSchema = v.GenericSchema<unknown, Record<string, unknown>>;

/**
 * Reads a list request's query with `schema` (GET /admin/events's by default): the filter plus
 * `cursor` (from a previous page; checked here so a damaged one is a 400) and `limit` (default
 * 100; the schema cuts larger ones to its maximum). `checkCursor: false` leaves a cursor of
 * another kind (the accounts') to the caller.
 */
export function parsePageQuery(
  query: Record<string, unknown>,
  schema: PageSchema = IndexEventsQuery,
  checkCursor = true,
): Parsed<PageRequest> {
  const parsed = parseInput(schema, query);
  if (!parsed.ok) return parsed;
  const { cursor, limit } = parsed.value as { cursor?: string; limit?: number };
  if (checkCursor && cursor !== undefined && decodeCursor(cursor) === undefined)
    return { ok: false, error: "cursor is not one this API gave" };
  return { ok: true, value: { filter: filterOf(parsed.value), ...(cursor !== undefined && { cursor }), limit: limit ?? DEFAULT_PAGE } };
}
