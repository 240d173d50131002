/**
 * A probe that got nothing countable (`probe: "none"` in the holder's report: nothing sent, a
 * 408/429, an attempt it could not sign) says nothing about the destination. It neither closes
 * the breaker nor doubles the interval: the holder goes to the back of the queue (its own recheck
 * brings it back anyway) and the probe goes at once to the next account that has waited since
 * before this interval's first probe. Without this, accounts whose probes cannot count (a source
 * with a broken signing key sharing its URL with a healthy one) would double the interval again
 * and again, and the healthy source would wait for weeks. When every waiter has had its turn in
 * this round, the next probe waits for the interval's time, as it stood.
 */
import { assignProbe, type Breaker, type BreakerSettings, releaseProbe } from "./breaker";
import type { DestinationStore } from "./store";

/** The breaker after `account`'s probe came to nothing; history, queue and wake-up written to `store`. */
export function handOnProbe(store: DestinationStore, breaker: Breaker, account: string, at: number, settings: BreakerSettings): Breaker {
  const holder = breaker.holder;
  if (breaker.state !== "half_open" || holder === null || holder.account !== account || holder.grantedAt === null) return breaker;
  store.requeue(account, at);
  // The holder now waits since `at`, after the round's start: it is not its own successor.
  const successor = store.oldestWaiterBefore(breaker.roundAt ?? holder.assignedAt);
  const released = releaseProbe(breaker, account, at, successor !== undefined);
  if (released.transition !== undefined) store.addHistory(released.transition);
  if (successor === undefined) return released.breaker;
  const assigned = assignProbe(released.breaker, at, successor, settings);
  if (assigned.transition !== undefined) store.addHistory(assigned.transition);
  store.wakeFirst(successor);
  return assigned.breaker;
}
