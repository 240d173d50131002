/**
 * A discrete-event simulation of delivery over days, in seconds of test time, with the real
 * Durable Objects (account ledgers and their destination's object) and the real origin.
 *
 * The delivery path reads src/clock.ts `now()`. The harness moves that clock to the earliest
 * alarm among the objects it drives (`advanceClockTo`), runs that object's alarm
 * (`runDurableObjectAlarm`), and repeats. Every alarm the objects set is at a simulated time,
 * which is later than the wall clock as soon as the clock has moved, so the runtime never fires
 * one on its own: the harness runs each, one at a time, in time order. Events are claimed with
 * their receipt at the simulated time (`acceptAt`) for the same reason.
 *
 * Only the objects' own alarms are read again after a step: a ledger's run can change its own
 * alarm and its destination's (take, report); a destination's run wakes ledgers (any of them).
 *
 * The objects' configuration is swapped on their running instances (as ./ledger-faults.ts does):
 * a source with its own origin path (its own destination, so no other test file's deliveries
 * meet its breaker) and settings such as DESTINATION_MAX_PER_SECOND, with nothing in src/ knowing.
 * The runtime may evict an idle instance (its next call builds a new one, with the bindings of
 * the configuration), so the harness gives the bindings again each time it touches an object:
 * before it runs its alarm and when it reads it (a destination's object is read after every step).
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { advanceClock, advanceClockTo, now } from "../../src/clock";
import type { Destination } from "../../src/destination/Destination";
import type { AcceptInput, AccountLedger } from "../../src/ledger/AccountLedger";
import { acceptInput } from "./ledger-faults";

/** A jump of the clock longer than this reads every object's alarm first. */
const RESYNC_JUMP_MS = 60_000;

type Stub = DurableObjectStub<AccountLedger> | DurableObjectStub<Destination>;

/** The bindings of a test gateway with one more source, `name`, delivering to `origin`, and `settings` over them. */
export function simulatedEnv(name: string, origin: string, settings: Record<string, string> = {}): Env {
  const sources = JSON.parse(env.SOURCES as string) as Record<string, unknown>;
  sources[name] = { provider: "cybavo", secrets: ["CYBAVO_API_SECRET"], origin };
  return { ...env, ...settings, SOURCES: JSON.stringify(sources) } as Env;
}

/** Gives a running instance (created if need be) these bindings for as long as it lives. */
export async function useEnv(stub: Stub, bindings: Env): Promise<void> {
  await runInDurableObject(stub as DurableObjectStub, (instance) => {
    (instance as unknown as { env: Env }).env = bindings;
  });
}

/** A claim as the Worker makes it, received at the simulated time. */
export async function acceptAt(source: string, account: string, key: string): Promise<AcceptInput> {
  return { ...(await acceptInput(source, account, key)), receivedAt: now() };
}

/** Makes every verified delivery to `path` (or whose body contains `match`) answer `status`; null lifts it (scripts/origin.mjs). */
export async function originFault(fault: { path: string } | { match: string }, status: number | null): Promise<void> {
  await fetch(`${env.TEST_ORIGIN_URL}/_faults`, { method: "POST", body: JSON.stringify({ ...fault, status }) });
}

/** How many attempts the origin saw at `path`, and how many it acknowledged (verified events). */
export async function originCount(path: string): Promise<{ attempts: number; events: number }> {
  return (await fetch(`${env.TEST_ORIGIN_URL}/_count?path=${encodeURIComponent(path)}`)).json();
}

/** The events the origin acknowledged at `path`, in arrival order. */
export async function originEventsAt(
  path: string,
): Promise<{ id: string; json: { subject: string; sequence: string; data: { payload: { key: string } } } }[]> {
  return (await fetch(`${env.TEST_ORIGIN_URL}/_events?path=${encodeURIComponent(path)}`)).json();
}

export interface Step {
  /** The simulated time the alarm ran at. */
  readonly at: number;
  readonly object: string;
}

export class Simulation {
  private readonly alarms = new Map<string, number | null>();
  readonly steps: Step[] = [];
  /** Alarms found changed by a full read that the step-by-step reads had missed. */
  readonly stale: Step[] = [];

  /**
   * `ledgers` and `hubs` (destination objects) by a name for the step log. Moves the clock a day
   * ahead of the wall clock at once, so no alarm set from now on is the runtime's to fire (a run
   * the runtime started on its own would overlap the harness's, whose forced run would then find
   * the object busy and read its alarm before that run sets it).
   */
  constructor(
    private readonly ledgers: ReadonlyMap<string, DurableObjectStub<AccountLedger>>,
    private readonly hubs: ReadonlyMap<string, DurableObjectStub<Destination>>,
    private readonly bindings: Env,
  ) {
    advanceClock(24 * 3_600_000);
  }

  private stub(name: string): Stub {
    return (this.ledgers.get(name) ?? this.hubs.get(name))!;
  }

  /** Gives the object its bindings (again) and reads its alarm. */
  private async read(name: string): Promise<void> {
    const at = await runInDurableObject(this.stub(name) as DurableObjectStub, (instance, state) => {
      (instance as unknown as { env: Env }).env = this.bindings;
      return state.storage.getAlarm();
    });
    this.alarms.set(name, at);
  }

  /** Reads every object's alarm again (after the test changed things from outside: claims, pauses). */
  async refresh(): Promise<void> {
    for (const name of [...this.ledgers.keys(), ...this.hubs.keys()]) await this.read(name);
  }

  /** The earliest alarm, or undefined when no object has one. */
  next(): { name: string; at: number } | undefined {
    let best: { name: string; at: number } | undefined;
    for (const [name, at] of this.alarms) if (at !== null && (best === undefined || at < best.at)) best = { name, at };
    return best;
  }

  /** Runs the earliest alarm at its time; false when no alarm is set or the next one is after `until`. */
  async step(until = Number.POSITIVE_INFINITY): Promise<boolean> {
    let next = this.next();
    // Before the clock jumps (or stops), every alarm is read again: one the harness did not see
    // change would otherwise be jumped over. Counted in `stale`.
    if (next === undefined || next.at - now() > RESYNC_JUMP_MS) {
      const before = new Map(this.alarms);
      await this.refresh();
      for (const [name, at] of this.alarms) if (before.get(name) !== at) this.stale.push({ at: now(), object: name });
      next = this.next();
    }
    if (next === undefined || next.at > until) return false;
    advanceClockTo(next.at);
    this.steps.push({ at: now(), object: next.name });
    await useEnv(this.stub(next.name), this.bindings);
    await runDurableObjectAlarm(this.stub(next.name) as DurableObjectStub);
    if (this.hubs.has(next.name)) await this.refresh();
    else {
      await this.read(next.name);
      for (const hub of this.hubs.keys()) await this.read(hub);
    }
    return true;
  }

  /**
   * Runs alarms in time order until simulated time `until` (then moves the clock there), until
   * `done()` holds (checked every `every` steps), or until no alarm is left. Returns the steps run.
   */
  async run(options: {
    until?: number;
    done?: () => Promise<boolean>;
    every?: number;
    maxSteps?: number;
    /** Called after each step (the test's own measurements). */
    after?: (step: Step) => Promise<void>;
  }): Promise<number> {
    const { until = Number.POSITIVE_INFINITY, done, every = 1, maxSteps = 1_000_000, after } = options;
    let ran = 0;
    for (;;) {
      if (done !== undefined && ran % every === 0 && (await done())) return ran;
      if (ran >= maxSteps) throw new Error(`simulation: still running after ${maxSteps} steps at ${new Date(now()).toISOString()}`);
      if (!(await this.step(until))) break;
      ran += 1;
      if (after !== undefined) await after(this.steps.at(-1)!);
    }
    if (until !== Number.POSITIVE_INFINITY) advanceClockTo(until);
    return ran;
  }
}
