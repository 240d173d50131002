/**
 * The circuit breaker's state machine (pure). Closed: every account sends. Open: none does; at
 * `nextProbeAt` one waiting account is chosen as the probe holder (half_open) and may send one
 * event. Its success closes the breaker; its failure opens it again with the probe interval
 * doubled (BREAKER_PROBE_SECONDS up to BREAKER_PROBE_MAX_SECONDS). A holder that does not take
 * and report its probe within the lease (DELIVERY_TIMEOUT_MS + 30 s) loses it, and the next
 * waiter gets the next interval's probe.
 *
 * At most one probe per interval, whatever the order of calls: a probe is only assigned at or
 * after `nextProbeAt`, and assigning or granting it moves `nextProbeAt` to at least a full
 * interval later; the interval never shrinks while the breaker stays open.
 */
import type { BreakerState, BreakerTransition } from "./contract";

export interface BreakerSettings {
  /** The first probe interval after the breaker opens. */
  readonly probeMs: number;
  /** The longest interval: doubling stops here. */
  readonly probeMaxMs: number;
  /** How long a probe holder has to take its probe, and then to report it. */
  readonly leaseMs: number;
}

export interface ProbeHolder {
  /** The ledger object's name. */
  readonly account: string;
  readonly assignedAt: number;
  /** When its `take` got the probe; null while it has not asked yet. */
  readonly grantedAt: number | null;
  readonly leaseUntil: number;
}

export interface Breaker {
  readonly state: BreakerState;
  readonly openedAt: number | null;
  /** The current probe interval; null when closed. */
  readonly intervalMs: number | null;
  /** The earliest time the next probe may be assigned; null when closed. */
  readonly nextProbeAt: number | null;
  /** Set in half_open only. */
  readonly holder: ProbeHolder | null;
  /**
   * When this interval's first probe was assigned, while probes are handed on (./probe.ts): a
   * probe whose holder had nothing countable goes at once only to an account waiting since before
   * it, so a round of such holders ends and the next waits for the next interval. Absent in
   * states stored before it existed.
   */
  readonly roundAt?: number | null;
}

export const CLOSED: Breaker = { state: "closed", openedAt: null, intervalMs: null, nextProbeAt: null, holder: null };

/** A change of state and the transition to keep in the history (absent when nothing changed). */
export interface Step {
  readonly breaker: Breaker;
  readonly transition?: BreakerTransition;
}

function move(from: Breaker, to: Breaker, at: number, reason: string): Step {
  return { breaker: to, transition: { at, from: from.state, to: to.state, reason } };
}

/** Closed to open, for the window's `reason`. Unchanged when not closed. */
export function open(breaker: Breaker, at: number, reason: string, settings: BreakerSettings): Step {
  if (breaker.state !== "closed") return { breaker };
  const opened: Breaker = { state: "open", openedAt: at, intervalMs: settings.probeMs, nextProbeAt: at + settings.probeMs, holder: null };
  return move(breaker, opened, at, reason);
}

/** Whether a probe may be assigned now (open, no holder, its time has come). */
export function probeDue(breaker: Breaker, at: number): boolean {
  return breaker.state === "open" && breaker.nextProbeAt !== null && at >= breaker.nextProbeAt;
}

/** Makes `account` the probe holder when a probe is due; unchanged otherwise. */
export function assignProbe(breaker: Breaker, at: number, account: string, settings: BreakerSettings): Step {
  if (!probeDue(breaker, at) || breaker.intervalMs === null) return { breaker };
  const holder: ProbeHolder = { account, assignedAt: at, grantedAt: null, leaseUntil: at + settings.leaseMs };
  const next: Breaker = { ...breaker, state: "half_open", nextProbeAt: at + breaker.intervalMs, holder, roundAt: breaker.roundAt ?? at };
  return move(breaker, next, at, `probe assigned to ${account}`);
}

/**
 * A holder that let its lease run out: open again. A probe it took (maybe sent) keeps the next
 * one a full interval away; one it never took was no probe, so the next waiter may have it now.
 */
export function expireLease(breaker: Breaker, at: number): Step {
  const holder = breaker.holder;
  if (breaker.state !== "half_open" || holder === null || at < holder.leaseUntil) return { breaker };
  const taken = holder.grantedAt !== null;
  const next: Breaker = {
    ...breaker,
    state: "open",
    holder: null,
    nextProbeAt: taken ? breaker.nextProbeAt : holder.assignedAt,
    roundAt: taken ? null : (breaker.roundAt ?? null),
  };
  return move(breaker, next, at, `probe lease expired: ${holder.account} ${taken ? "did not report it" : "did not take it"}`);
}

/**
 * The probe holder's `take`: granted once (the one probe of this interval). Anyone else, or the
 * holder asking again, is not granted.
 */
export function takeProbe(
  breaker: Breaker,
  account: string,
  at: number,
  settings: BreakerSettings,
): { breaker: Breaker; granted: boolean } {
  const holder = breaker.holder;
  if (
    breaker.state !== "half_open" ||
    holder === null ||
    holder.account !== account ||
    holder.grantedAt !== null ||
    at >= holder.leaseUntil
  )
    return { breaker, granted: false };
  const interval = breaker.intervalMs ?? 0;
  const next: Breaker = {
    ...breaker,
    nextProbeAt: Math.max(breaker.nextProbeAt ?? at, at + interval),
    // The lease runs again from the grant: the holder has a delivery's timeout and 30 s to report.
    holder: { ...holder, grantedAt: at, leaseUntil: at + settings.leaseMs },
  };
  return { breaker: next, granted: true };
}

/**
 * The holder's report of its granted probe: ok closes the breaker; failed opens it again with the
 * interval doubled (capped). A report from anyone else, or of a probe never granted, changes nothing.
 */
export function reportProbe(
  breaker: Breaker,
  account: string,
  outcome: "ok" | "failed",
  at: number,
  detail: string,
  settings: BreakerSettings,
): Step {
  const holder = breaker.holder;
  if (breaker.state !== "half_open" || holder === null || holder.account !== account || holder.grantedAt === null) return { breaker };
  if (outcome === "ok") return move(breaker, CLOSED, at, "probe succeeded");
  const interval = Math.min((breaker.intervalMs ?? settings.probeMs) * 2, settings.probeMaxMs);
  const next: Breaker = {
    ...breaker,
    state: "open",
    intervalMs: interval,
    nextProbeAt: Math.max(breaker.nextProbeAt ?? at, at + interval),
    holder: null,
    roundAt: null,
  };
  return move(breaker, next, at, `probe failed: ${detail}`);
}

/**
 * The holder's report of a granted probe that got nothing countable (nothing sent, a 408/429, an
 * attempt it could not sign): open again, the interval not doubled, and the probe due at once for
 * another waiter (`handOn`), or at the interval's time as it stood when no one else may have it now.
 */
export function releaseProbe(breaker: Breaker, account: string, at: number, handOn: boolean): Step {
  const holder = breaker.holder;
  if (breaker.state !== "half_open" || holder === null || holder.account !== account || holder.grantedAt === null) return { breaker };
  const next: Breaker = {
    ...breaker,
    state: "open",
    holder: null,
    nextProbeAt: handOn ? at : breaker.nextProbeAt,
    roundAt: handOn ? (breaker.roundAt ?? holder.assignedAt) : null,
  };
  return move(breaker, next, at, `probe released: ${account} had nothing countable`);
}

/** When the breaker next needs the object's alarm: the probe's time, or the holder's lease end. */
export function nextDeadline(breaker: Breaker): number | null {
  if (breaker.state === "open") return breaker.nextProbeAt;
  if (breaker.state === "half_open") return breaker.holder?.leaseUntil ?? null;
  return null;
}
