/**
 * The JSON Schema of the operational events, derived from the valibot definitions in
 * ./events.ts. Not part of the Worker bundle: used by `npm run schema` (schema/ops-events.json)
 * and the tests.
 */
import { toJsonSchema } from "@valibot/to-json-schema";
import { OpsEventSchema } from "./events";

export function opsEventsJsonSchema(): Record<string, unknown> {
  return {
    ...toJsonSchema(OpsEventSchema, { target: "draft-2020-12", errorMode: "throw" }),
    $id: "https://github.com/webhook-gateway/webhook-gateway/schema/ops-events.json",
    title: "OpsEvent",
    description:
      "An operational event as webhook-gateway delivers it to OPS_WEBHOOK_URL (CloudEvents 1.0, structured JSON, type gateway.*). See docs/ops-events.md.",
  };
}
