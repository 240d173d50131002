/** What a ledger run or claim adds to the source's counters (src/stats.ts). */
import type { GatewayConfig } from "../config";
import { type Counter, type Counts, count, flushIfDue } from "../stats";
import type { ObjectIdentity } from "./identity";
import type { LedgerStorage } from "./storage";
import type { ClaimResult } from "./types";

/** Adds a run's counts to the isolate's counters; they reach the stats object in batches. */
export async function flushRunStats(env: Env, identity: ObjectIdentity, stats: Counts, config: GatewayConfig | undefined): Promise<void> {
  const known = identity.get();
  if (known === undefined || config === undefined) return;
  for (const [name, value] of Object.entries(stats)) count(known.source, name as Counter, value);
  await flushIfDue(env, Date.now(), config.statsFlushMs);
}

/** A claim's answer, with the rows this object read and wrote since its last report (for the counters). */
export function claimResult(storage: LedgerStorage, outcome: "stored" | "duplicate" | "replayed"): ClaimResult {
  const usage = storage.take();
  return outcome === "replayed" ? { replayed: true, usage } : { stored: true, duplicate: outcome === "duplicate", usage };
}
