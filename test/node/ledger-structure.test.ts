/**
 * The shape the ledger keeps (issue 11, items 1 and 2), read from the source files:
 * - one storage gate: only src/ledger/storage.ts runs SQL or sets the alarm, so its counts are
 *   all the rows Cloudflare bills (test/storage-gate.test.ts checks the counts themselves);
 * - no import cycle anywhere in src/;
 * - the ledger's modules stay small.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const src = join(root, "src");

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : [],
  );
}

const sources = files(src).map((path) => ({ path: relative(root, path), text: readFileSync(path, "utf8") }));

/** The code of a file without its comments (a comment may name what the code must not do). */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
}

/** Relative imports and re-exports of a file, type-only ones included, resolved to paths. */
function imports(path: string, text: string): string[] {
  const found = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.{1,2}\/[^"]+)"/g)].map((m) => m[1]!);
  return found.map((spec) => {
    const base = resolve(root, dirname(path), spec);
    return relative(root, base.endsWith(".ts") ? base : `${base}.ts`);
  });
}

describe("one storage gate", () => {
  it("only src/ledger/storage.ts touches SQL or the alarm", () => {
    const offenders = sources
      .filter((file) => file.path !== "src/ledger/storage.ts")
      .flatMap((file) =>
        [
          ...code(file.text).matchAll(
            /\bsql\.exec\b|\bstorage\.sql\b|\.sql\b|(?<!gate)\.(?:set|delete|get)Alarm\(|\bstorage\.(?:put|get|delete|list|transaction)\w*\(/g,
          ),
        ].map((m) => `${file.path}: ${m[0]}`),
      );
    expect(offenders).toEqual([]);
  });

  it("the Durable Object's storage reaches the gate and nothing else", () => {
    const uses = sources.flatMap((file) =>
      [...code(file.text).matchAll(/.*\bctx\.storage\b.*/g)].map((m) => `${file.path}: ${m[0].trim()}`),
    );
    expect(uses).toEqual(["src/ledger/AccountLedger.ts: this.gate = new LedgerStorage(ctx.storage);"]);
  });
});

describe("modules", () => {
  it("no import cycle in src/", () => {
    const graph = new Map(sources.map((file) => [file.path, imports(file.path, file.text)]));
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
    expect(cycles).toEqual([]);
  });

  it("every ledger module, and the stats batching, is at most 300 lines", () => {
    const long = sources
      .filter((file) => file.path.startsWith("src/ledger/") || file.path === "src/stats.ts")
      .map((file) => ({ path: file.path, lines: file.text.split("\n").length - 1 }))
      .filter((file) => file.lines > 300);
    expect(long).toEqual([]);
  });
});
