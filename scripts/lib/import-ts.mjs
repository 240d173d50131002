// Imports a TypeScript module of this project from a Node script: the sources import each other
// without file extensions (as the Worker's bundler resolves them), which Node's loader does not
// resolve, and Node 22.12 does not strip types by default. esbuild bundles the module in memory
// and the result is imported as a data URL.
import { build } from "esbuild";

export async function importTs(path) {
  const result = await build({
    entryPoints: [new URL(`../../${path}`, import.meta.url).pathname],
    bundle: true,
    format: "esm",
    platform: "neutral",
    write: false,
    logLevel: "error",
  });
  const code = result.outputFiles[0].text;
  return import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`);
}
