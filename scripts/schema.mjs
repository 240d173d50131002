// Writes schema/gateway-event.json from the valibot definition in src/event.ts, so the
// published JSON Schema and the TypeScript types come from one source: `npm run schema`.
// test/event-schema.test.ts fails when the committed file and the definition disagree.
import { mkdir, writeFile } from "node:fs/promises";
import { importTs } from "./lib/import-ts.mjs";

const { gatewayEventJsonSchema } = await importTs("src/event-schema.ts");
await mkdir(new URL("../schema/", import.meta.url), { recursive: true });
await writeFile(new URL("../schema/gateway-event.json", import.meta.url), `${JSON.stringify(gatewayEventJsonSchema(), null, 2)}\n`);
console.log("wrote schema/gateway-event.json");
