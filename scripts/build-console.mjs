// Builds the operator console (console/) into dist/assets/console/, the directory wrangler.toml's
// [assets] serves through the Worker (src/console.ts): index.html, app.<hash>.js, app.<hash>.css
// and uplot.<hash>.css, minified. The script and style names carry a hash of their content, so a
// browser may keep them for a year; index.html (never cached without a check) names the current
// ones, and a deploy is picked up on the next load.
// Run by wrangler's [build] command before `wrangler dev` and `wrangler deploy`, and by `npm test`
// before vitest (the workers test project serves the same directory).
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("../", import.meta.url));
export const CONSOLE_OUT = join(root, "dist/assets/console");

const hashOf = (bytes) => createHash("sha256").update(bytes).digest("hex").slice(0, 12);
const named = (base, ext, bytes) => `${base}.${hashOf(bytes)}.${ext}`;

/** The console's files, in memory: name → contents. */
export async function bundleConsole() {
  const script = await build({
    absWorkingDir: root,
    entryPoints: ["console/src/main.tsx"],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    jsx: "automatic",
    jsxImportSource: "preact",
    minify: true,
    legalComments: "none",
    write: false,
    logLevel: "silent",
  });
  const styles = await build({
    absWorkingDir: root,
    entryPoints: ["console/app.css"],
    bundle: true,
    minify: true,
    write: false,
    logLevel: "silent",
  });
  const js = script.outputFiles[0].contents;
  const css = styles.outputFiles[0].contents;
  const uplot = await readFile(join(root, "node_modules/uplot/dist/uPlot.min.css"));
  const names = { "app.js": named("app", "js", js), "app.css": named("app", "css", css), "uplot.css": named("uplot", "css", uplot) };
  const template = await readFile(join(root, "console/index.html"), "utf8");
  const html = template.replace(/\{\{([a-z.]+)\}\}/g, (_, key) => {
    if (!(key in names)) throw new Error(`console/index.html names an unknown file {{${key}}}`);
    return names[key];
  });
  return new Map([
    ["index.html", Buffer.from(html)],
    [names["app.js"], js],
    [names["app.css"], css],
    [names["uplot.css"], uplot],
  ]);
}

/** Whether `dir` holds exactly these files with these contents. */
async function holds(dir, files) {
  const names = await readdir(dir).catch((err) => {
    if (err.code === "ENOENT") return [];
    throw err;
  });
  if (names.length !== files.size) return false;
  for (const [name, contents] of files) {
    const existing = await readFile(join(dir, name)).catch((err) => {
      if (err.code === "ENOENT") return undefined;
      throw err;
    });
    if (existing === undefined || !existing.equals(Buffer.from(contents))) return false;
  }
  return true;
}

/**
 * Writes the console into `outdir`, replacing what was there. Nothing is written when it
 * already holds the same files (wrangler dev sees no change, and the test suites, which each
 * run wrangler's build, never swap the directory under each other). Otherwise the new files are
 * written beside it and swapped in with two renames, so a server reading the directory sees the
 * old set or the new one, never half of each, and old hashed files do not pile up. Two builds
 * at once: the second to swap finds the first one's directory in place and keeps it when it is
 * the same build.
 */
export async function buildConsole(outdir = CONSOLE_OUT) {
  const files = await bundleConsole();
  if (await holds(outdir, files)) return files;
  const stamp = `${process.pid}-${Date.now()}`;
  const fresh = `${outdir}.new-${stamp}`;
  const stale = `${outdir}.old-${stamp}`;
  await mkdir(fresh, { recursive: true });
  for (const [name, contents] of files) await writeFile(join(fresh, name), contents);
  for (let attempt = 1; ; attempt++) {
    await rename(outdir, stale).catch((err) => {
      if (err.code !== "ENOENT") throw err;
    });
    try {
      await rename(fresh, outdir);
      break;
    } catch (err) {
      // Another build put its directory in place between the two renames.
      if (err.code !== "ENOTEMPTY" && err.code !== "EEXIST") throw err;
      if (await holds(outdir, files)) {
        await rm(fresh, { recursive: true, force: true });
        break;
      }
      if (attempt === 3) throw err;
      await rm(stale, { recursive: true, force: true });
    }
  }
  await rm(stale, { recursive: true, force: true });
  return files;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const files = await buildConsole();
  const bytes = [...files.values()].reduce((sum, f) => sum + f.length, 0);
  console.log(`${relative(root, CONSOLE_OUT)}/ built: ${[...files.keys()].join(", ")} (${bytes} bytes)`);
}
