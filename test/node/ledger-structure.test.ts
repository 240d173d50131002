/**
 * The shape the ledger keeps (issue 11, items 1 and 2), read from the source files:
 * - one storage gate: only src/ledger/storage.ts runs SQL or sets the alarm, so its counts are
 *   all the rows Cloudflare bills (test/storage-gate.test.ts checks the counts themselves).
 * No import cycle and at most 300 lines per file hold for all of src/: source-structure.test.ts.
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
    // Every Durable Object class: the account ledger, a bulk job (src/jobs/) and a destination (src/destination/) keep their SQLite behind the same gate.
    expect(uses).toEqual([
      "src/destination/Destination.ts: this.gate = new LedgerStorage(ctx.storage);",
      "src/jobs/BulkJob.ts: this.gate = new LedgerStorage(ctx.storage);",
      "src/ledger/AccountLedger.ts: this.gate = new LedgerStorage(ctx.storage);",
    ]);
  });
});
