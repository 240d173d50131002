/**
 * The destination object's wake-ups (the ledger's `wake()`), sent from its alarm in batches. A
 * wake-up that fails (the account's object unreachable for a moment) is kept and tried again
 * WAKE_RETRY_MS later, doubling up to WAKE_RETRY_MAX_MS: after an outage, a close must reach every
 * waiting account promptly, not after its own recheck (BREAKER_RECHECK_SECONDS, an hour by default).
 */
import { log } from "../log";
import { storageFailure } from "../platform-errors";
import type { DestinationStore } from "./store";

/** Wake-ups sent per alarm run: a close with thousands of waiters is spread over runs. */
export const WAKES_PER_RUN = 50;
export const WAKE_RETRY_MS = 30_000;
export const WAKE_RETRY_MAX_MS = 10 * 60_000;

/** The delay before a wake-up that failed `failures` times in a row is tried again. */
export function wakeRetryMs(failures: number): number {
  return Math.min(WAKE_RETRY_MS * 2 ** Math.max(0, failures - 1), WAKE_RETRY_MAX_MS);
}

/** Sends up to WAKES_PER_RUN wake-ups due at `at`; keeps those that fail, for later. */
export async function sendWakes(env: Env, store: DestinationStore, destination: string, at: number): Promise<void> {
  const wakes = store.takeWakes(WAKES_PER_RUN, at);
  if (wakes.length === 0) return;
  const results = await Promise.allSettled(wakes.map(({ account }) => env.LEDGER.get(env.LEDGER.idFromName(account)).wake()));
  const failures = wakes.flatMap((wake, i) => {
    const result = results[i];
    return result?.status === "rejected" ? [{ wake, reason: result.reason as unknown }] : [];
  });
  for (const { wake } of failures) store.retryWake(wake.account, wake.priority, wake.failures + 1, at + wakeRetryMs(wake.failures + 1));
  const first = failures[0];
  log("destination_wake", {
    level: first === undefined ? "info" : "warn",
    destination,
    accounts: wakes.length,
    failed: failures.length,
    ...(first !== undefined && { firstFailed: first.wake.account, ...storageFailure(first.reason).fields }),
  });
}
