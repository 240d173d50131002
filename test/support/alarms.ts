/**
 * Forcing a Durable Object's alarm without taking it from under the runtime. The ledger sets its
 * alarm to the moment an event arrives, so right after a claim workerd is already firing it. The
 * harness's `runDurableObjectAlarm` deletes the alarm and then runs the handler; a deletion that
 * lands between workerd firing the alarm and its handler starting makes workerd cancel its own
 * run and print "NOSENTRY SQLite alarm handler canceled with requestScheduledAlarm" (the run is
 * only moved, nothing is lost, but a passing run prints a runtime warning).
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";

/** An alarm due within this many milliseconds is the runtime's to run. */
const DUE_MARGIN_MS = 50;
/** How long a due alarm or a run in progress is waited for before the alarm is forced anyway. */
const WAIT_MS = 2_000;

type AlarmState = "idle" | "due" | "running";

function alarmState(stub: DurableObjectStub): Promise<AlarmState> {
  return runInDurableObject(stub, async (instance, state) => {
    // The ledger's one delivery loop (src/ledger/AccountLedger.ts `alarm`).
    if ((instance as unknown as { delivering?: boolean }).delivering === true) return "running";
    const at = await state.storage.getAlarm();
    return at !== null && at <= Date.now() + DUE_MARGIN_MS ? "due" : "idle";
  });
}

/**
 * Runs the object's alarm now, like `runDurableObjectAlarm`: an alarm that is due (or a run in
 * progress) is left to the runtime, which runs it at once, and waited for; then an alarm still
 * set for later (a retry, the next prune) is run now. Returns whether this call ran the handler.
 */
export async function runAlarmNow(stub: DurableObjectStub): Promise<boolean> {
  const deadline = Date.now() + WAIT_MS;
  while ((await alarmState(stub)) !== "idle" && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return runDurableObjectAlarm(stub);
}
