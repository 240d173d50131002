// Applies migrations/ to a local D1 database reached through Miniflare (`mf.getD1Database`),
// the way `wrangler d1 migrations apply --local` does: each migration file in name order, in
// one batch with its row in `d1_migrations`, skipped when already recorded there. Used by the
// benchmark and the end-to-end suites, which start the gateway with Miniflare directly.
import { fileURLToPath } from "node:url";
import { readD1Migrations } from "@cloudflare/vitest-plugin";

const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations", import.meta.url));

/** @param {D1Database} db */
export async function applyLocalMigrations(db) {
  const migrations = await readD1Migrations(MIGRATIONS_DIR);
  await db
    .prepare(
      "CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)",
    )
    .run();
  const applied = new Set((await db.prepare("SELECT name FROM d1_migrations").all()).results.map((row) => row.name));
  for (const migration of migrations) {
    if (applied.has(migration.name)) continue;
    await db.batch([
      ...migration.queries.map((query) => db.prepare(query)),
      db.prepare("INSERT INTO d1_migrations (name) VALUES (?)").bind(migration.name),
    ]);
  }
  return migrations.map((m) => m.name);
}
