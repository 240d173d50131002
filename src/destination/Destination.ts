/**
 * A destination's Durable Object (binding DESTINATIONS, one object per destination, named by its
 * id: src/destinations.ts). Every account delivering to the destination asks it before an outbox
 * run (`take`) and tells it the run's outcomes after (`report`): one call each per run, never per
 * event. It holds the destination's circuit breaker (./breaker.ts over ./window.ts), its delivery
 * ceiling (./bucket.ts) and its paused sources, and remembers the accounts it holds back so that
 * it can wake them (the ledger's `wake()`) when the breaker closes, a source resumes, or an
 * account is chosen to probe. docs/operations.md "Origin protection"; docs/architecture.md
 * "Destination object".
 *
 * Time comes from src/clock.ts, so the protection tests can run days of outage in seconds. The
 * alarm does the object's outgoing calls (wake-ups, operational events), in bounded batches; what
 * it must do is stored first, with the change that caused it, so a crash delays it, never loses
 * it (a lost wake-up costs the account at most BREAKER_RECHECK_SECONDS: it asks again by itself).
 */
import { DurableObject } from "cloudflare:workers";
import { now } from "../clock";
import { loadConfig, NUMBERS } from "../config";
import { LedgerStorage } from "../ledger/storage";
import { log } from "../log";
import { opsEvent } from "../ops/emit";
import { breakerClosed, breakerOpened } from "../ops/events";
import { assignProbe, expireLease, nextDeadline, open, probeDue, reportProbe, takeProbe } from "./breaker";
import { fullBucket, giveBack, rampingBucket, rateAt, take as takeTokens } from "./bucket";
import type { DestinationStatus, Grant, ReportRequest, TakeRequest } from "./contract";
import { TAKE_MAX } from "./contract";
import { handOnProbe } from "./probe";
import { type DestinationSettings, destinationSettings } from "./settings";
import { type DestinationState, DestinationStore } from "./store";
import { sendWakes } from "./wakes";
import { counts, EMPTY_WINDOW, openReason, record } from "./window";

/** What a request needs once its destination id is known to the configuration. */
interface Known {
  readonly id: string;
  readonly url: string;
  readonly settings: DestinationSettings;
  readonly state: DestinationState;
}

const LAST_ERROR_CHARS = 200;
const NOTICE_RETRY_MS = 30_000; // a breaker notice the ops ledger failed to store is tried again this much later

export class Destination extends DurableObject<Env> {
  private readonly gate: LedgerStorage;
  private readonly store: DestinationStore;
  /** When a notice that failed to store is tried again (in memory: a fresh isolate tries at once). */
  private noticeRetryAt: number | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.gate = new LedgerStorage(ctx.storage);
    this.store = new DestinationStore(this.gate);
  }

  /** Whether `req.account` may send now, and how many events. */
  async take(req: TakeRequest): Promise<Grant> {
    const at = now();
    const known = this.known(req.destination);
    if (known === undefined) return { kind: "held", reason: "ceiling", recheckAt: at + failClosedRecheckMs(this.env) };
    const { settings } = known;
    if (this.store.isPaused(req.source)) {
      this.store.wait(req.account, req.source, "paused", at);
      return { kind: "held", reason: "paused", recheckAt: at + settings.recheckMs };
    }
    if (known.state.breaker.state !== "closed") {
      // Waiting first, so that the probe, if one is due now, goes to the oldest waiter: maybe this one.
      this.store.wait(req.account, req.source, "open", at);
      const state = this.advance(known, at, req.account);
      const probe = takeProbe(state.breaker, req.account, at, settings.breaker);
      if (probe.granted) this.store.save({ ...state, breaker: probe.breaker });
      await this.schedule();
      if (probe.granted) return { kind: "send", count: 1, probe: true };
      return { kind: "held", reason: "open", recheckAt: at + settings.recheckMs };
    }
    const want = Math.min(TAKE_MAX, Math.max(1, Math.floor(Number.isFinite(req.want) ? req.want : 1)));
    const result = takeTokens(known.state.bucket ?? fullBucket(at, settings.bucket), want, at, settings.bucket);
    this.store.unwait(req.account);
    this.store.save({ ...known.state, bucket: result.bucket });
    if ("recheckAt" in result) return { kind: "held", reason: "ceiling", recheckAt: result.recheckAt };
    return { kind: "send", count: result.granted, probe: false };
  }

  /** A run's outcomes: the breaker counts them, unused tokens go back, a probe's answer moves the breaker. */
  async report(req: ReportRequest): Promise<void> {
    const at = now();
    const known = this.known(req.destination);
    if (known === undefined) return;
    const { settings, state } = known;
    const outcome = req.report;
    const bucket =
      state.bucket !== null && (outcome.unused ?? 0) > 0 ? giveBack(state.bucket, outcome.unused ?? 0, at, settings.bucket) : state.bucket;
    const failedNow = outcome.failed > 0 || outcome.probe === "failed";
    let next: DestinationState = {
      ...state,
      bucket,
      lastStatus: failedNow ? (outcome.lastStatus ?? null) : state.lastStatus,
      lastError: failedNow ? (outcome.lastError?.slice(0, LAST_ERROR_CHARS) ?? null) : state.lastError,
    };
    if (state.breaker.state === "closed") {
      const window = record(state.window, at, outcome, settings.window);
      next = { ...next, window };
      const reason = openReason(window, at, settings.window);
      if (reason !== null) {
        const step = open(state.breaker, at, reason, settings.breaker);
        next = { ...next, breaker: step.breaker };
        if (step.transition !== undefined) this.store.addHistory(step.transition);
        this.store.addNotice({ type: "opened", reason, openedAt: at });
        log("breaker_opened", { level: "warn", destination: known.id, reason });
      }
    } else if (outcome.probe === "none") {
      next = { ...next, breaker: handOnProbe(this.store, state.breaker, req.account, at, settings.breaker) };
    } else if (outcome.probe !== undefined) {
      // Open or half-open: only the probe counts (a run granted before the opening may still report).
      const detail =
        outcome.lastStatus !== undefined ? `HTTP ${outcome.lastStatus}` : (outcome.lastError?.slice(0, LAST_ERROR_CHARS) ?? "failed");
      const step = reportProbe(state.breaker, req.account, outcome.probe, at, detail, settings.breaker);
      if (step.transition !== undefined) {
        this.store.addHistory(step.transition);
        // The next probe goes to another waiter: an account whose own head fails (a poison
        // event) must not be the only one ever to probe.
        this.store.requeue(req.account, at);
        next = { ...next, breaker: step.breaker };
        if (step.breaker.state === "closed") {
          next = { ...next, window: EMPTY_WINDOW, bucket: rampingBucket(at) };
          const woken = this.store.release("open");
          this.store.addNotice({ type: "closed", openedAt: state.breaker.openedAt ?? at, closedAt: at });
          log("breaker_closed", { destination: known.id, openedAt: state.breaker.openedAt ?? at, waiting: woken });
        }
      }
    }
    this.store.save(next);
    await this.schedule();
  }

  async pauseSource(source: string, by: string): Promise<{ paused: boolean; changed: boolean }> {
    const changed = this.store.pause(source, by, now());
    log("source_paused", { source, by, changed });
    return { paused: true, changed };
  }

  /** Resumes `source` and wakes its held accounts (from the alarm, in batches). */
  async resumeSource(source: string, by: string): Promise<{ paused: boolean; changed: boolean }> {
    const changed = this.store.resume(source);
    const woken = this.store.release("paused", source);
    log("source_resumed", { source, by, changed, waiting: woken });
    if (woken > 0) await this.gate.wakeBy(now());
    return { paused: false, changed };
  }

  async status(): Promise<DestinationStatus> {
    const at = now();
    const state = this.store.state();
    const loaded = loadConfig(this.env);
    const maxPerSecond = loaded.ok ? loaded.config.destinationMaxPerSecond : NUMBERS.destinationMaxPerSecond[1];
    const settings = loaded.ok ? destinationSettings(loaded.config) : undefined;
    const window = settings === undefined ? { attempts: 0, failures: 0 } : counts(state.window, at, settings.window);
    const bucket = settings === undefined ? undefined : (state.bucket ?? fullBucket(at, settings.bucket));
    return {
      id: state.destination ?? this.ctx.id.name ?? "",
      state: state.breaker.state,
      attempts: window.attempts,
      failures: window.failures,
      consecutiveFailures: state.window.consecutive,
      openedAt: state.breaker.openedAt,
      nextProbeAt: state.breaker.nextProbeAt,
      probeIntervalMs: state.breaker.intervalMs,
      lastError: state.lastError,
      lastStatus: state.lastStatus,
      waiting: this.store.waiting(),
      pausedSources: this.store.pausedSources(),
      ratePerSecond: settings === undefined || bucket === undefined ? maxPerSecond : rateAt(bucket, at, settings.bucket),
      maxPerSecond,
      history: this.store.history(),
    };
  }

  /** Probes that are due, leases that ran out, then a batch of wake-ups and the pending operational events. */
  override async alarm(): Promise<void> {
    this.gate.alarmFired();
    const id = this.store.state().destination;
    if (id === null) return; // never asked: nothing to do
    const known = this.known(id);
    if (known === undefined) return;
    try {
      this.advance(known, now());
      await sendWakes(this.env, this.store, id, now());
      await this.sendNotices(known);
    } finally {
      await this.schedule();
    }
  }

  /**
   * Applies what time has made due: a probe lease that ran out and a probe to assign (to the
   * oldest waiter, woken first unless it is `asking`). A holder that let its lease run out goes
   * to the back of the queue, still waiting, whether it took its probe or not: if its wake-up was
   * lost, a close (or its source's resume, when it was paused meanwhile) must still wake it.
   */
  private advance(known: Known, at: number, asking?: string): DestinationState {
    const { settings, state } = known;
    let breaker = state.breaker;
    const expired = expireLease(breaker, at);
    const holder = breaker.holder;
    if (expired.transition !== undefined && holder !== null) {
      this.store.addHistory(expired.transition);
      this.store.requeue(holder.account, at);
      breaker = expired.breaker;
    }
    if (probeDue(breaker, at)) {
      const oldest = this.store.oldestWaiter();
      if (oldest !== undefined) {
        const step = assignProbe(breaker, at, oldest, settings.breaker);
        if (step.transition !== undefined) this.store.addHistory(step.transition);
        breaker = step.breaker;
        if (oldest !== asking) this.store.wakeFirst(oldest);
      }
    }
    if (breaker === state.breaker) return state;
    const next = { ...state, breaker };
    this.store.save(next);
    return next;
  }

  /** The breaker's operational events, each once (its key names the opening). */
  private async sendNotices(known: Known): Promise<void> {
    for (const { seq, notice } of this.store.notices()) {
      const input =
        notice.type === "opened"
          ? breakerOpened({ destination: known.id, url: known.url, reason: notice.reason, openedAt: notice.openedAt })
          : breakerClosed({ destination: known.id, url: known.url, openedAt: notice.openedAt, closedAt: notice.closedAt });
      // Kept when storing failed: the next alarm tries again with the same key (one event).
      if ((await opsEvent(this.env, input)) === "failed") {
        this.noticeRetryAt = now() + NOTICE_RETRY_MS;
        return;
      }
      this.store.dropNotice(seq);
    }
    this.noticeRetryAt = undefined;
  }

  /** Sets the alarm for the earliest thing due, from the stored state (after any await). */
  private async schedule(): Promise<void> {
    const at = now();
    const state = this.store.state();
    let due = nextDeadline(state.breaker);
    // A probe due with nobody waiting: the next account to ask gets it at once, no alarm needed.
    if (due !== null && probeDue(state.breaker, at) && this.store.oldestWaiter() === undefined) due = null;
    if (this.store.notices().length > 0) due = Math.min(due ?? Number.MAX_SAFE_INTEGER, this.noticeRetryAt ?? at);
    const wakeAt = this.store.nextWakeAt();
    if (wakeAt !== null) due = Math.min(due ?? Number.MAX_SAFE_INTEGER, Math.max(wakeAt, at));
    if (due === null) return;
    // At the delivery clock's time, as the ledgers' alarms: in the Worker `now()` is `Date.now()`;
    // the protection tests' simulation runs each alarm itself at its simulated time.
    await this.gate.wakeBy(due);
  }

  /** The destination's settings and state, or undefined (logged at error) when the configuration does not know `id`. */
  private known(id: string): Known | undefined {
    const loaded = loadConfig(this.env);
    const destination = loaded.ok ? loaded.config.destinations.get(id) : undefined;
    if (!loaded.ok || destination === undefined) {
      log("destination_unknown", { level: "error", destination: id, configValid: loaded.ok });
      return undefined;
    }
    const state = this.store.state();
    if (state.destination === null) this.store.save({ ...state, destination: id });
    else if (state.destination !== id) log("destination_mismatch", { level: "error", destination: id, stored: state.destination });
    return {
      id,
      url: destination.url,
      settings: destinationSettings(loaded.config),
      state: { ...state, destination: state.destination ?? id },
    };
  }
}

/** An account asking about a destination this deployment does not know asks again in a probe interval. */
function failClosedRecheckMs(env: Env): number {
  const loaded = loadConfig(env);
  return (loaded.ok ? loaded.config.breakerProbeSeconds : NUMBERS.breakerProbeSeconds[1]) * 1000;
}
