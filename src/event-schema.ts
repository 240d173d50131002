/**
 * The JSON Schema of the outbound event, derived from the valibot definition in ./event.ts.
 * Not part of the Worker bundle: used by `npm run schema` and the schema test.
 */
import { toJsonSchema } from "@valibot/to-json-schema";
import { GatewayEventSchema } from "./event";

export function gatewayEventJsonSchema(): Record<string, unknown> {
  return {
    ...toJsonSchema(GatewayEventSchema, { target: "draft-2020-12", errorMode: "throw" }),
    $id: "https://github.com/webhook-gateway/webhook-gateway/schema/gateway-event.json",
    title: "GatewayEvent",
    description: "A normalized event as webhook-gateway delivers it to the origin (CloudEvents 1.0, structured JSON). See docs/events.md.",
  };
}
