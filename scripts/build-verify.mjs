// Builds the webhook-gateway/verify module into dist/verify/: index.js (ESM, one file, no
// imports) and its .d.ts declarations, then prints its size minified and gzipped.
// `npm run build:verify` (npm test runs it first). Fails if the module imports anything: it may
// depend on Web standards only, so no `node:`, `cloudflare:` or package import is allowed.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const root = fileURLToPath(new URL("../", import.meta.url));

/** esbuild plugin: any import that is not a relative file of the module is an error. */
export const webStandardsOnly = {
  name: "web-standards-only",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => ({
      errors: [{ text: `verify module imports "${args.path}": only Web standards are allowed` }],
    }));
  },
};

export async function bundleVerify({ minify = false, write = true } = {}) {
  return build({
    absWorkingDir: root,
    entryPoints: ["src/verify/index.ts"],
    outfile: "dist/verify/index.js",
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify,
    write,
    metafile: true,
    logLevel: "silent",
    plugins: [webStandardsOnly],
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await bundleVerify();
  execFileSync(
    process.execPath,
    [fileURLToPath(new URL("../node_modules/typescript/bin/tsc", import.meta.url)), "-p", "tsconfig.verify.json"],
    {
      cwd: root,
      stdio: "inherit",
    },
  );
  const minified = (await bundleVerify({ minify: true, write: false })).outputFiles[0].contents;
  console.log(`dist/verify/index.js built; minified ${minified.length} bytes, gzipped ${gzipSync(minified, { level: 9 }).length} bytes`);
}
