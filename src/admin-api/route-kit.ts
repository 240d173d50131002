/** The shape of an operator API route (./routes.ts lists them) and the answers routes share. */
import type * as v from "valibot";
import { ErrorBody } from "./common";

export type Method = "get" | "post" | "delete";

export interface ApiResponse {
  readonly description: string;
  readonly schema?: v.GenericSchema;
}

export interface ApiRoute {
  readonly method: Method;
  /** The path with `{name}` parameters (OpenAPI's form), under /admin. */
  readonly path: string;
  readonly summary: string;
  readonly tag: "events" | "index" | "quarantine" | "jobs" | "destinations" | "operations" | "session";
  /** An object schema (its entries are the query parameters). */
  readonly query?: { readonly entries: v.ObjectEntries };
  readonly body?: v.GenericSchema;
  readonly responses: Readonly<Record<number, ApiResponse>>;
}

export const ok = (schema: v.GenericSchema, description = "OK"): ApiResponse => ({ description, schema });
export const notFound: ApiResponse = { description: "Unknown source, account or event.", schema: ErrorBody };
export const ACCOUNT = "/admin/sources/{source}/accounts/{account}";
export const unknownSource: ApiResponse = { description: "Unknown source.", schema: ErrorBody };
export const unknownAccount: ApiResponse = { description: "Unknown source (any account key is an account).", schema: ErrorBody };
