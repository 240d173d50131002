/**
 * The stats role (`{source}/~stats`): a source's counters, one row per name. The Worker and the
 * account ledgers count in their isolate's memory and flush here in batches (src/stats.ts).
 */
import type { Counts } from "../stats";
import type { LedgerStorage } from "./storage";

/** Adds to the counters: one row written per existing name, two for a new one (row + primary key). */
export function addCounters(storage: LedgerStorage, deltas: Counts): void {
  for (const [name, value] of Object.entries(deltas)) {
    storage.run(
      "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
      name,
      value,
    );
  }
}

export function readCounters(storage: LedgerStorage): Record<string, number> {
  return Object.fromEntries(
    storage.rows<{ name: string; value: number }>("SELECT name, value FROM counters").map((r) => [r.name, r.value]),
  );
}
