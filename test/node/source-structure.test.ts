/**
 * The shape of all of src/ (issue 11: "no file under src/ over ~300 lines; no import cycle"),
 * read from the files themselves:
 * - every source file (TypeScript and the providers' .mjs signers) is at most 300 lines, so a
 *   module stays one role a reader can hold at once;
 * - no import cycle, type-only imports and re-exports included: a module can be read, tested and
 *   bundled after the ones it uses.
 * The ledger's own rules (one storage gate) are in ledger-structure.test.ts.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SOURCE = /\.(?:ts|mts|mjs|js)$/;
const MAX_LINES = 300;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : SOURCE.test(entry.name) ? [join(dir, entry.name)] : [],
  );
}

const sources = files(join(root, "src")).map((path) => ({ path: relative(root, path), text: readFileSync(path, "utf8") }));

/** The file a relative specifier names, as TypeScript's bundler resolution finds it. */
function resolveSpecifier(from: string, spec: string): string {
  const base = resolve(root, dirname(from), spec);
  const candidates = [base, `${base}.ts`, `${base}.mts`, `${base}.mjs`, join(base, "index.ts")];
  const found = candidates.find((path) => existsSync(path) && SOURCE.test(path));
  if (found === undefined) throw new Error(`${from}: cannot resolve "${spec}"`);
  return relative(root, found);
}

/** Relative imports, re-exports and dynamic imports of a file (type-only ones too), resolved. */
function importsOf(path: string, text: string): string[] {
  const specifiers = [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.{1,2}\/[^"]+)"/g),
    ...text.matchAll(/(?:^|\n)\s*import\s+"(\.{1,2}\/[^"]+)"/g),
    ...text.matchAll(/\bimport\(\s*"(\.{1,2}\/[^"]+)"\s*\)/g),
  ].map((m) => m[1] as string);
  // A JSON file (the committed OpenAPI document the Worker serves) is data: it imports nothing.
  return specifiers.filter((spec) => !spec.endsWith(".json")).map((spec) => resolveSpecifier(path, spec));
}

/** Every import cycle of a graph, each as "a → b → a". */
function cyclesOf(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const visit = (node: string, path: string[]) => {
    if (state.get(node) === "done") return;
    if (state.get(node) === "open") {
      cycles.push([...path.slice(path.indexOf(node)), node].join(" → "));
      return;
    }
    state.set(node, "open");
    for (const next of graph.get(node) ?? []) visit(next, [...path, node]);
    state.set(node, "done");
  };
  for (const node of graph.keys()) visit(node, []);
  return cycles;
}

const lineCount = (text: string) => text.split("\n").length - (text.endsWith("\n") ? 1 : 0);

describe("src/", () => {
  it(`every source file is at most ${MAX_LINES} lines`, () => {
    const long = sources.map((file) => ({ path: file.path, lines: lineCount(file.text) })).filter((file) => file.lines > MAX_LINES);
    expect(long).toEqual([]);
  });

  it("has no import cycle", () => {
    const graph = new Map(sources.map((file) => [file.path, importsOf(file.path, file.text)]));
    expect(cyclesOf(graph)).toEqual([]);
  });

  it("the checks see what they must: directory imports resolve, a cycle is found, the size is counted", () => {
    // src/index.ts reaches the providers through a folder import ("./providers" → index.ts), an
    // edge a resolver that only appends ".ts" would drop.
    expect(resolveSpecifier("src/index.ts", "./providers")).toBe("src/providers/index.ts");
    expect(
      cyclesOf(
        new Map([
          ["a", ["b"]],
          ["b", ["c"]],
          ["c", ["a"]],
          ["d", ["a"]],
        ]),
      ),
    ).toEqual(["a → b → c → a"]);
    expect(lineCount("one\ntwo\n")).toBe(2);
    expect(lineCount("one\ntwo")).toBe(2);
    // The providers' signers are source too.
    expect(sources.map((file) => file.path)).toContain("src/providers/coins/signer.mjs");
  });
});
