// Writes the generated schemas, so published documents and TypeScript types come from one source:
// `npm run schema`.
// - schema/gateway-event.json: the outbound event, from the valibot definition in src/event.ts
//   (test/event-schema.test.ts fails when the committed file and the definition disagree);
// - schema/ops-events.json: the operational events (gateway.*), from src/ops/events.ts
//   (test/protection/ops-schema.test.ts checks it is current);
// - schema/openapi.json: the operator API (OpenAPI 3.1), from the valibot schemas its routes use
//   in src/admin-api/ (test/node/openapi.test.ts checks it is current; the Worker serves it at
//   GET /admin/openapi.json).
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { importTs } from "./lib/import-ts.mjs";

const out = (name) => new URL(`../schema/${name}`, import.meta.url);
const json = (value) => `${JSON.stringify(value, null, 2)}\n`;

const { gatewayEventJsonSchema } = await importTs("src/event-schema.ts");
const { adminOpenApi } = await importTs("src/admin-api/openapi.ts");
const { opsEventsJsonSchema } = await importTs("src/ops/schema.ts");
const { version } = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8"));

await mkdir(out(""), { recursive: true });
await writeFile(out("gateway-event.json"), json(gatewayEventJsonSchema()));
console.log("wrote schema/gateway-event.json");
await writeFile(out("ops-events.json"), json(opsEventsJsonSchema()));
console.log("wrote schema/ops-events.json");
await writeFile(out("openapi.json"), json(adminOpenApi(version)));
console.log("wrote schema/openapi.json");
