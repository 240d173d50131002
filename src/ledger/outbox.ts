/**
 * The account's FIFO outbox: delivery in arrival order (a failing head blocks only this
 * account), the record of each attempt and the retry schedule (an operator's ways of putting
 * events back are in ./requeue.ts). It only writes rows: the ledger shell sets the alarm in the
 * same synchronous block as each write (docs/architecture.md "Outbox scheduling").
 */
import { now } from "../clock";
import type { GatewayConfig } from "../config";
import { type AttemptOutcome, deliverOnce, withSequence } from "../delivery";
import { TAKE_MAX } from "../destination/contract";
import { targetFor } from "../destinations";
import { accountObjectName } from "../object-names";
import type { Counts } from "../stats";
import { recordFailedAttempt, retryAt } from "./attempt-budget";
import { logAttempt } from "./attempt-log";
import { type Cursors, OUTBOX_STORE_EVERY } from "./cursors";
import { DeadLetterNotices } from "./dead-letter";
import { DestinationRun } from "./destination-run";
import type { Holds } from "./hold";
import type { ObjectIdentity } from "./identity";
import { type Head, OutboxHead } from "./outbox-head";
import type { Partition, Partitions } from "./partitions";
import type { LedgerStorage } from "./storage";

/** How long one alarm run may keep delivering before it yields and re-arms itself. */
const ALARM_BUDGET_MS = 20_000;
/**
 * How often a long run pauses between two events for `between` (the operators' index feed):
 * under sustained load a run delivers for up to ALARM_BUDGET_MS, and the index would otherwise
 * trail its deliveries by that much.
 */
export const BETWEEN_EVERY_MS = 1_000;

export class Outbox {
  constructor(
    private readonly storage: LedgerStorage,
    private readonly identity: ObjectIdentity,
    private readonly cursors: Cursors,
    private readonly partitions: Partitions,
    /** The object's bindings, read at each use (tests swap them): certificate bindings for mTLS. */
    private readonly env: () => Env,
    private readonly holds: Holds,
  ) {
    this.notices = new DeadLetterNotices(storage);
    this.heads = new OutboxHead(storage, cursors, partitions);
  }

  /** Finds the oldest pending event (./outbox-head.ts). */
  private readonly heads: OutboxHead;

  /** Dead letters whose operations event is not stored yet (kept in `_meta`; the ledger announces them: ./dead-letter.ts). */
  readonly notices: DeadLetterNotices;
  /** Whether the operations webhook is configured (read at each run): dead letters' notices are queued only then. */
  private opsConfigured = false;

  /** Whether nothing is pending. */
  empty(): boolean {
    return this.heads.read() === undefined;
  }

  /** The oldest pending event's due time (null: due now), or undefined when nothing is pending. */
  headDueAt(): number | null | undefined {
    const head = this.heads.read();
    return head === undefined ? undefined : head.next_attempt_at;
  }

  /**
   * When the outbox next has something to send: undefined when nothing is pending or the account
   * is paused; while held (./hold.ts), the hold's recheck time (null when woken: now) in place of
   * the head's own retry time; otherwise the head's due time (null: now).
   */
  dueAt(): number | null | undefined {
    if (this.holds.paused() !== undefined) return undefined;
    const head = this.headDueAt();
    if (head === undefined || !this.holds.holding()) return head;
    return this.holds.until(now()) ?? null;
  }

  /**
   * One run: delivers due events in order, until the head is not due, the outbox is empty, the
   * run's time is up or its grant is used; calls `between` between two events at most every
   * BETWEEN_EVERY_MS (never in the middle of one: an attempt's outcome is recorded before it
   * runs). An event with a destination asks its object first (one `take`) and reports the run's
   * outcomes once at the end (./destination-run.ts); a held account sends nothing and asks again
   * by the hold's recheck time, and when its hold ends its head goes at once, whatever its own
   * retry time said. The operations webhook (`~ops`, no destination) is never held.
   */
  async deliver(config: GatewayConfig, stats: Counts, between?: () => Promise<void>): Promise<void> {
    const started = now();
    this.opsConfigured = config.ops !== undefined;
    if (this.holds.paused() !== undefined) return;
    const first = this.heads.read();
    const held = this.holds.holding();
    if (first === undefined || this.holds.until(started) !== undefined || (!held && (first.next_attempt_at ?? 0) > started)) return;
    const target = targetFor(config, this.env(), first.source);
    let run: DestinationRun | undefined;
    if (target?.destination !== undefined) {
      const identity = this.identity.get();
      const account = identity === undefined ? "" : accountObjectName(identity.source, identity.account);
      run = new DestinationRun(this.env(), target.destination.id, account, first.source);
      const want = Math.max(1, Math.min(TAKE_MAX, this.partitions.highestSeq() - first.seq + 1));
      const wakes = this.holds.wakes();
      const grant = await run.take(want);
      stats.destination_requests = (stats.destination_requests ?? 0) + 1;
      if (grant.kind === "held") {
        // A wake-up that came while the take was on its way is newer than its answer: ask again at once.
        const until = this.holds.wakes() !== wakes ? now() : grant.recheckAt;
        this.holds.held(grant.reason, now(), until);
        return;
      }
      // Paused while the take was on its way: the operator was told "paused", so nothing goes
      // out; the grant goes back (a probe is handed on) and the pause's hold stays.
      if (this.holds.paused() !== undefined) {
        if (await run.report()) stats.destination_requests = (stats.destination_requests ?? 0) + 1;
        return;
      }
      // The hold (if any) is over: its time goes to the head that waited (./attempt-budget.ts).
      if (held) this.holds.release(this.heads.read() ?? first, now());
    } else if (held) {
      // No destination to hold it any more (its source left the configuration): the hold ends
      // here, so the head keeps its own retry schedule instead of being due at every alarm.
      this.holds.release(first, now());
    }
    try {
      // The head just read is sent first unless the take's await came between (a redelivery may
      // have put an older event back meanwhile): then the loop reads it again.
      await this.send(config, stats, run, started, between, run === undefined ? first : undefined, held);
    } finally {
      if (await run?.report()) stats.destination_requests = (stats.destination_requests ?? 0) + 1;
    }
  }

  private async send(
    config: GatewayConfig,
    stats: Counts,
    run: DestinationRun | undefined,
    started: number,
    between?: () => Promise<void>,
    read?: Head,
    released = false,
  ) {
    let lastBetween = started;
    let known = read;
    let anyDue = released;
    for (;;) {
      // A grant spent or GRANT_TTL_MS old: a probe's run ends; another reports and takes again
      // while it has time (at most one exchange a second of a long run, never one per event).
      if (run !== undefined && run.remaining() <= 0) {
        if (run.isProbe() || now() - started > ALARM_BUDGET_MS || !(await this.renew(run, stats))) return;
      }
      if (between !== undefined && now() - lastBetween >= BETWEEN_EVERY_MS) {
        await between();
        lastBetween = now();
      }
      const head = known ?? this.heads.read();
      known = undefined;
      if (head === undefined) return;
      const attemptStarted = now();
      // Not due (an early wake-up: the index retry, a prune): the schedule wakes at its time.
      if (!anyDue && (head.next_attempt_at ?? 0) > attemptStarted) return;
      anyDue = false;
      if (attemptStarted - started > ALARM_BUDGET_MS) return;
      const target = targetFor(config, this.env(), head.source);
      const outbound = { id: head.id, body: withSequence(head.body, head.seq) };
      // The signature's timestamp is the wall clock's: the origin checks it against its own.
      const outcome: AttemptOutcome =
        target === undefined
          ? // The source was removed from the configuration: keep the event and try later.
            { kind: "retry", error: "source not configured" }
          : await deliverOnce(target, outbound, Date.now(), config.deliveryTimeoutMs);
      if (target !== undefined) stats.subrequests = (stats.subrequests ?? 0) + 1;
      run?.count(outcome);
      const probe = run?.isProbe() === true;
      if (!this.record(head, outcome, attemptStarted, now() - attemptStarted, stats, probe) || probe) return;
    }
  }

  /** Reports a spent grant and takes a new one; false when the account is held (its hold recorded) or paused. */
  private async renew(run: DestinationRun, stats: Counts): Promise<boolean> {
    if (await run.report()) stats.destination_requests = (stats.destination_requests ?? 0) + 1;
    if (this.heads.read() === undefined) return false;
    const wakes = this.holds.wakes();
    const grant = await run.take(Math.max(1, Math.min(TAKE_MAX, this.partitions.highestSeq() - this.cursors.get("outbox_after"))));
    stats.destination_requests = (stats.destination_requests ?? 0) + 1;
    if (grant.kind === "held") {
      this.holds.held(grant.reason, now(), this.holds.wakes() !== wakes ? now() : grant.recheckAt);
      return false;
    }
    return this.holds.paused() === undefined; // paused meanwhile: the grant goes back in the final report
  }

  /** Writes an attempt's outcome; returns whether to go on with the next event (false: the head waits for a retry). */
  private record(head: Head, outcome: AttemptOutcome, at: number, ms: number, stats: Counts, probe: boolean): boolean {
    const time = now();
    const attempts = head.attempts + 1;
    const status = "status" in outcome ? (outcome.status ?? null) : null;
    const error = outcome.kind === "delivered" ? null : outcome.error;
    // Failed attempts get a row each; the successful one is the event row itself (attempts,
    // last_status, delivered_at, delivered_ms), which saves a write on every delivered event.
    if (outcome.kind !== "delivered") {
      const row = { seq: head.seq, attempt: attempts, at, outcome: outcome.kind, status, error: outcome.error, ms, probe };
      recordFailedAttempt(this.storage, row);
    }
    if (outcome.kind === "delivered") {
      this.update(
        head,
        "state = 'delivered', attempts = ?2, last_status = ?3, delivered_at = ?4, delivered_ms = ?5, next_attempt_at = NULL, reason = NULL",
        attempts,
        status,
        time,
        ms,
      );
      logAttempt(head, this.identity.get()?.account, outcome, attempts, ms, "delivered");
      stats.delivered = (stats.delivered ?? 0) + 1;
      this.passed(head);
      return true;
    }
    const retry =
      outcome.kind === "retry"
        ? retryAt(this.storage, { seq: head.seq, attempts, now: time, retryAfterMs: outcome.retryAfterMs, probe })
        : undefined;
    if (retry === undefined) {
      // A dead letter leaves its partition for `events`, where operators and the index find it.
      const moved =
        head.keys !== undefined ? this.update(head, "attempts = ?2, last_status = ?3, reason = ?4", attempts, status, error) : undefined;
      if (moved !== undefined) this.partitions.moveToEvents(moved, head.id, { state: "dead", requeued: 0, nextAttemptAt: null });
      else {
        this.storage.run(
          "UPDATE events SET state = 'dead', attempts = ?, last_status = ?, reason = ?, next_attempt_at = NULL, indexed = 0 WHERE seq = ?",
          attempts,
          status,
          error,
          head.seq,
        );
      }
      logAttempt(head, this.identity.get()?.account, outcome, attempts, ms, "dead");
      stats.dead = (stats.dead ?? 0) + 1;
      this.passed(head);
      // Only with an operations webhook configured: otherwise the notice would be written only to be dropped.
      if (this.opsConfigured) this.notices.add({ id: head.id, source: head.source, seq: head.seq, attempts, status, error });
      return true;
    }
    this.update(head, "attempts = ?2, last_status = ?3, reason = ?4, next_attempt_at = ?5", attempts, status, error, retry);
    logAttempt(head, this.identity.get()?.account, outcome, attempts, ms, "retry", retry);
    stats.failed = (stats.failed ?? 0) + 1;
    return false;
  }

  /**
   * The head is settled (delivered or dead): when it is the row just after the cursor (the look
   * that found it moved the cursor to just before it), the cursor moves over it now, so the next
   * look starts at the next row instead of reading this one again. A head an operator put back
   * behind the cursor leaves it where it is.
   */
  private passed(head: Head): void {
    if (this.cursors.get("outbox_after") === head.seq - 1) this.cursors.set("outbox_after", head.seq, OUTBOX_STORE_EVERY);
  }

  /**
   * Sets columns of the head's row (`?1` is its key), in its keys partition or in `events`.
   * Returns the keys partition when the row was there. A partition row that is no longer there
   * (an operator moved it meanwhile) is updated in `events`, where it went. A row of `events`
   * is marked for the operators' index (`indexed = 0`: ./index-feed.ts); partition rows are
   * found from the index's cursor instead.
   */
  private update(head: Head, set: string, ...values: unknown[]): Partition | undefined {
    if (head.keys !== undefined) {
      const hit = this.storage.rows(`UPDATE ${head.keys.name} SET ${set} WHERE id = ?1 RETURNING seq`, head.id, ...values);
      if (hit.length > 0) return head.keys;
    }
    this.storage.run(`UPDATE events SET ${set}, indexed = 0 WHERE id = ?1`, head.id, ...values);
    return undefined;
  }
}
