/**
 * The clock of delivery scheduling: the outbox's due times, the attempt budget's two-day window,
 * and the destination objects' breaker windows, probe intervals and delivery ceiling read it.
 * In the Worker it is the platform's clock (`Date.now`, `scheduler.wait`). The origin-protection
 * tests (test/protection/) simulate days of outage in seconds: they move it forward with
 * `advanceClock` between the alarms they run, and `sleep` then moves it instead of waiting. Nothing
 * in the Worker calls `advanceClock`; the offset stays 0 and `now()` is `Date.now()`.
 */
let offsetMs = 0;
let simulated = false;

/** Unix milliseconds. */
export function now(): number {
  return Date.now() + offsetMs;
}

/** Waits `ms` (a simulated clock moves forward by `ms` at once). */
export async function sleep(ms: number): Promise<void> {
  if (ms <= 0) return;
  if (simulated) {
    offsetMs += ms;
    return;
  }
  await scheduler.wait(ms);
}

/**
 * Simulation only (test/protection/): moves the clock forward by `ms` and makes `sleep` move it
 * too. Returns the new `now()`.
 */
export function advanceClock(ms: number): number {
  simulated = true;
  offsetMs += Math.max(0, ms);
  return now();
}

/** Simulation only: moves the clock to `at` if that is later than now. */
export function advanceClockTo(at: number): number {
  return advanceClock(at - now());
}
