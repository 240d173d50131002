import { describe, expect, it } from "vitest";
import committed from "../schema/gateway-event.json" with { type: "json" };
import { gatewayEventJsonSchema } from "../src/event-schema";

describe("schema/gateway-event.json", () => {
  it("is what src/event.ts defines (run `npm run schema` after changing the event)", () => {
    expect(committed).toEqual(gatewayEventJsonSchema());
  });
});
