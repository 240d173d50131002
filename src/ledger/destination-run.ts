/**
 * One outbox run's exchange with its destination's object (src/destination/contract.ts): one
 * `take` before the run sends, one `report` when it ends, never a call per event. The report
 * classifies each attempt for the breaker: `ok` (2xx, and a 4xx other than 408/429: the origin
 * answered, the refusal dead-letters its own event), `failed` (5xx, 3xx, timeouts, network
 * errors), neither (408, 429: retried, not counted).
 */
import { now } from "../clock";
import type { AttemptOutcome } from "../delivery";
import { GRANT_TTL_MS, type Grant, type OutcomeReport } from "../destination/contract";
import { log } from "../log";

/** A take that could not reach the destination's object is asked again this soon. */
export const TAKE_RETRY_MS = 30_000;

export type Verdict = "ok" | "failed" | "neither";

/** How the breaker counts an attempt's outcome. */
export function verdictOf(outcome: AttemptOutcome): Verdict {
  if (outcome.kind !== "retry") return "ok";
  if (outcome.unsent === true || outcome.status === 408 || outcome.status === 429) return "neither";
  return "failed";
}

export class DestinationRun {
  private ok = 0;
  private failed = 0;
  private trailingFailed = 0;
  private lastStatus: number | undefined;
  private lastError: string | undefined;
  private granted = 0;
  private sent = 0;
  private probe = false;
  /** When the grant's answer arrived: it is good for GRANT_TTL_MS from then. */
  private grantedAt = 0;

  constructor(
    private readonly env: Env,
    private readonly destination: string,
    /** This ledger object's name (src/object-names.ts): how the destination wakes it. */
    private readonly account: string,
    private readonly source: string,
  ) {}

  private stub() {
    return this.env.DESTINATIONS.get(this.env.DESTINATIONS.idFromName(this.destination));
  }

  /**
   * Asks to send up to `want` events. An object that cannot be reached holds the account (as a
   * ceiling hold: nothing is sent unguarded) and it asks again TAKE_RETRY_MS later.
   */
  async take(want: number): Promise<Grant> {
    try {
      const grant = await this.stub().take({ destination: this.destination, account: this.account, source: this.source, want });
      if (grant.kind === "send") {
        this.granted = grant.count;
        this.probe = grant.probe;
        this.grantedAt = now();
      }
      return grant;
    } catch (err) {
      log("destination_unreachable", {
        level: "error",
        destination: this.destination,
        account: this.account,
        call: "take",
        error: err instanceof Error ? err.message : String(err),
      });
      return { kind: "held", reason: "ceiling", recheckAt: now() + TAKE_RETRY_MS };
    }
  }

  /**
   * How many more events the grant allows: none once it is GRANT_TTL_MS old (the rest goes back
   * in the report, and the next run takes again). Spending tokens granted long before (a run
   * lasts up to 20 s) would let the origin see more than the ceiling's bound in a window.
   */
  remaining(): number {
    if (now() - this.grantedAt >= GRANT_TTL_MS) return 0;
    return this.granted - this.sent;
  }

  /** The breaker's reading of a probe: `none` when nothing countable came of it (nothing sent, 408/429, unsigned). */
  private probeOutcome(): "ok" | "failed" | "none" {
    if (this.ok > 0) return "ok";
    return this.failed > 0 ? "failed" : "none";
  }

  /** Whether this run is the breaker's probe (one attempt, reported at once). */
  isProbe(): boolean {
    return this.probe;
  }

  /** Counts one attempt of this run. */
  count(outcome: AttemptOutcome): void {
    this.sent += 1;
    const verdict = verdictOf(outcome);
    if (verdict === "ok") {
      this.ok += 1;
      this.trailingFailed = 0;
    } else if (verdict === "failed") {
      this.failed += 1;
      this.trailingFailed += 1;
    }
    if (outcome.kind !== "delivered") {
      this.lastStatus = outcome.status;
      this.lastError = outcome.error;
    }
  }

  /**
   * The run's one report, when it granted anything (a granted probe always reports, even when
   * nothing was sent: the destination hands the probe on at once); answers whether it made the
   * request. Never throws: the deliveries are already recorded.
   */
  async report(): Promise<boolean> {
    if (this.granted === 0) return false;
    const report: OutcomeReport = {
      ok: this.ok,
      failed: this.failed,
      trailingFailed: this.trailingFailed,
      unused: this.granted - this.sent,
      ...(this.probe && { probe: this.probeOutcome() }),
      ...(this.lastStatus !== undefined && { lastStatus: this.lastStatus }),
      ...(this.lastError !== undefined && { lastError: this.lastError }),
    };
    try {
      await this.stub().report({ destination: this.destination, account: this.account, source: this.source, report });
    } catch (err) {
      // The breaker misses this run's outcomes; the destination's own lease and window cover it.
      log("destination_unreachable", {
        level: "warn",
        destination: this.destination,
        account: this.account,
        call: "report",
        error: err instanceof Error ? err.message : String(err),
      });
    }
    // Reported: the next grant of this run (./outbox.ts takes again) counts from zero.
    this.granted = 0;
    this.sent = 0;
    this.ok = 0;
    this.failed = 0;
    this.trailingFailed = 0;
    this.lastStatus = undefined;
    this.lastError = undefined;
    this.probe = false;
    return true;
  }
}
