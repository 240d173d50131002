import type { Miniflare } from "miniflare";

/** Applies migrations/ to a local D1 database from Miniflare, as `wrangler d1 migrations apply --local` does; returns the migration names. */
export function applyLocalMigrations(db: Awaited<ReturnType<Miniflare["getD1Database"]>>): Promise<string[]>;
