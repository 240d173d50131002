/**
 * Validation with the operator API's schemas (./common.ts): the routes read their query and body
 * through this, so the `error` of a 400 is the message of the schema's first failing action.
 */
import * as v from "valibot";

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/**
 * An empty value means "any": a form that leaves a field blank sends `source=`. Only empty
 * strings are dropped; every other value is checked.
 */
export function withoutBlanks(input: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== "" && value !== undefined));
}

/** `input` (blanks dropped) validated with `schema`, or the first issue's message. */
export function parseInput<S extends v.GenericSchema>(schema: S, input: Record<string, unknown>): Parsed<v.InferOutput<S>> {
  const parsed = v.safeParse(schema, withoutBlanks(input));
  return parsed.success ? { ok: true, value: parsed.output } : { ok: false, error: parsed.issues[0]?.message ?? "invalid input" };
}
