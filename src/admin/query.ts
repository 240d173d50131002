/**
 * A route's query parameters, read with the schema the OpenAPI document shows for them
 * (src/admin-api/): the value, or the 400 that names what is wrong.
 */
import type { IRequest } from "itty-router";
import type * as v from "valibot";
import { parseInput } from "../admin-api/parse";
import { reply } from "../replies";

export function parseQuery<S extends v.GenericSchema>(schema: S, request: IRequest): v.InferOutput<S> | Response {
  const parsed = parseInput(schema, request.query);
  return parsed.ok ? parsed.value : reply.json(400, { error: parsed.error });
}
