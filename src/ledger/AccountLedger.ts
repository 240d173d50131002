/**
 * The ledger Durable Object: a thin shell that wires the ledger's modules and keeps the order
 * of storage, alarm and KV. One SQLite-backed object per (source, account) holds that account's
 * claims, nonces and FIFO outbox; two per-source objects of the same class hold the source's
 * quarantine and counters. Which of the three an object is, it records itself
 * (./identity.ts), and each RPC method below refuses to run on an object of another role.
 *
 * The modules, each one role: ./storage.ts (the gate to SQL and the alarm, counting rows),
 * ./schema.ts, ./identity.ts (what this object is), ./claim.ts (claims, nonces), ./partitions.ts
 * (time partitions, dropped whole), ./outbox.ts (delivery, retries; held by ./hold.ts), ./requeue.ts (redeliver,
 * replay), ./index-feed.ts (the D1 index), ./retention.ts, ./quarantine.ts, ./counters.ts, ./reads.ts.
 *
 * Scheduling rule (docs/architecture.md "Outbox scheduling"): storage state first, then the
 * alarm, then the best-effort index (D1). The alarm is never later than the outbox head's due
 * time: every change to the outbox sets it in the same synchronous block as the write (or leaves
 * one already due no later: `wakeBy` in ./storage.ts), and an alarm run derives its next wake-up
 * from the stored state after its last await. D1 is never on that path: a failed batch leaves
 * the rows to send and sets a retry wake-up.
 */
import { DurableObject } from "cloudflare:workers";
import { now } from "../clock";
import { type GatewayConfig, loadConfig } from "../config";
import { RETRY } from "../delivery";
import { log } from "../log";
import { storageFailure } from "../platform-errors";
import type { SignedFields } from "../providers/provider";
import type { Counts } from "../stats";
import { type Claim, claimEvent } from "./claim";
import { addCounters, readCounters } from "./counters";
import { Cursors } from "./cursors";
import { type EraseResult, eraseEvent, keyDigestOf } from "./erase";
import { Holds } from "./hold";
import { ObjectIdentity } from "./identity";
import { IndexFeed } from "./index-feed";
import { BETWEEN_EVERY_MS, Outbox } from "./outbox";
import { Partitions } from "./partitions";
import { PruneSchedule } from "./prune-schedule";
import { claimQuarantined, keptSigned, listQuarantined, markReprocessed, rawBytes } from "./quarantine";
import { type EventsQuery, eventWithAttempts, listEvents } from "./reads";
import { type RedeliverGuard, Requeue } from "./requeue";
import { type AttemptRow, type EventRow, migrate } from "./schema";
import { LedgerStorage, type RowUsage } from "./storage";
import type { AcceptInput, AccountDelivery, ClaimResult, QuarantinedEvent, QuarantineInput } from "./types";
import { claimResult, flushRunStats } from "./usage";

export type { AcceptInput, AccountDelivery, ClaimResult, QuarantinedEvent, QuarantineInput } from "./types";

export class AccountLedger extends DurableObject<Env> {
  private readonly gate: LedgerStorage;
  private readonly identity: ObjectIdentity;
  private readonly outbox: Outbox;
  private readonly index: IndexFeed;
  private readonly cursors: Cursors;
  private readonly partitions: Partitions;
  private readonly requeue: Requeue;
  /** Whether a claim of this isolate has made sure the alarm is set (see `accept`); one delivery loop per object (see `alarm`). */
  private checkedAlarm = false;
  private delivering = false;
  private readonly prunes: PruneSchedule;
  private readonly holds: Holds;
  /** When the next prune is due (in memory, ./prune-schedule.ts); tests set 0 to prune on the next run. */
  private nextPruneAt: number | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.gate = new LedgerStorage(ctx.storage);
    // An upgraded object runs its alarm at once: migration 9 left its history for the index feed.
    if (migrate(this.gate)) void ctx.blockConcurrencyWhile(() => this.gate.wakeBy(Date.now()));
    this.identity = new ObjectIdentity(this.gate);
    this.cursors = new Cursors(this.gate);
    this.partitions = new Partitions(this.gate, this.cursors);
    this.holds = new Holds(this.gate);
    this.outbox = new Outbox(this.gate, this.identity, this.cursors, this.partitions, () => this.env, this.holds);
    this.prunes = new PruneSchedule(this.gate, this.cursors, this.partitions);
    this.requeue = new Requeue(this.gate, this.cursors, this.partitions);
    this.index = new IndexFeed(this.gate, this.identity, this.cursors, this.partitions, () => this.env); // env read at each use (tests swap it)
  }

  // -------------------------------------------------------------------------------------------
  // Account role: ingress (src/ingress.ts) and operators (src/admin.ts)

  /** Claims and stores a verified, normalized event; schedules its delivery if it is new. */
  async accept(input: AcceptInput): Promise<ClaimResult> {
    const loaded = loadConfig(this.env);
    // One transaction: the key and its body are stored together or not at all (a key without
    // its body would refuse the provider's retries and never be delivered).
    let claim: Claim;
    try {
      claim = this.gate.atomically(() =>
        claimEvent(this.gate, this.identity, this.partitions, input, () => this.outbox.empty(), loaded.ok ? loaded.config : undefined),
      );
    } catch (err) {
      // Rolled back: what memory learned inside (a partition created, a role recorded) is re-read.
      this.partitions.forget();
      this.identity.forget();
      throw err;
    }
    // In the claim's synchronous block: nothing runs between the insert and this call (a fresh
    // isolate's one `getAlarm` in `wakeBy` is a storage read: the input gate holds other events).
    if (claim.wakeAt !== undefined) {
      await this.gate.wakeBy(claim.wakeAt);
      this.checkedAlarm = true;
    } else if (!this.checkedAlarm && claim.outcome === "stored" && !this.delivering) {
      // The first claim of this isolate into a non-empty outbox makes sure its alarm is set:
      // one that was lost (a run the runtime gave up retrying, as after a rollback past a schema
      // migration: docs/deploy.md) would otherwise strand the outbox, as only a claim into an
      // empty outbox sets one. Once per isolate; `wakeBy` writes nothing when it is set.
      // Not while a delivery run is on: it sets the alarm from the stored state when it ends.
      this.checkedAlarm = true;
      const due = this.outbox.dueAt();
      if (due !== undefined) await this.gate.wakeBy(due ?? now());
    }
    // A paused or held outbox sends nothing, but the operators' index shows what arrives: a run within a second writes it.
    if (claim.outcome === "stored" && (this.holds.paused() !== undefined || this.holds.until(now()) !== undefined))
      await this.gate.wakeBy(now() + BETWEEN_EVERY_MS);
    return claimResult(this.gate, claim.outcome);
  }

  /**
   * This object's events, oldest first, optionally from a time on and in one state. Like
   * `event`, it answers on an object of any role: it only reads, and reading an internal
   * object's events is how one checks that no account ever reached it.
   */
  async events(options: EventsQuery | number = {}): Promise<EventRow[]> {
    return listEvents(this.gate, this.partitions, typeof options === "number" ? { limit: options } : options);
  }

  /** One event with all its delivery attempts. */
  async event(id: string): Promise<{ event: EventRow; attempts: AttemptRow[] } | undefined> {
    return eventWithAttempts(this.gate, this.partitions, id);
  }

  /** Puts an event back in the outbox, due now, unless a bulk job's `guard` skips it (./requeue.ts). Storage, alarm, then the index. */
  async redeliver(id: string, guard?: RedeliverGuard): Promise<"queued" | "skipped" | "not_found" | "not_redeliverable"> {
    this.identity.check("redeliver", "account");
    const now = Date.now();
    const result = this.requeue.redeliver(id, now, guard);
    if (result !== "queued" && result !== "queued_dead") return result;
    await this.gate.wakeBy(now);
    // Best effort: a failure leaves the row marked, and the alarm retries it. A bulk job's leave it to the alarm.
    if (guard === undefined) await this.index.afterAction();
    return "queued";
  }

  /** Sends again every delivered event received since `since` (Unix ms), in order, with its original id. */
  async replay(since: number): Promise<number> {
    this.identity.check("replay", "account");
    const now = Date.now();
    const changed = this.requeue.replay(since, now);
    if (changed > 0) await this.gate.wakeBy(now);
    if (changed > 0) await this.index.afterAction();
    return changed;
  }

  /** Erases an event's (or a quarantined callback's) payload, keeping its identity (./erase.ts); the alarm re-indexes it. */
  async erase(id: string, by: string): Promise<EraseResult> {
    this.identity.check("erase", "account", "quarantine");
    const digested = await keyDigestOf(this.gate, this.partitions, id);
    const result = eraseEvent(this.gate, this.partitions, this.cursors, id, by, Date.now(), digested);
    if (typeof result === "object") await this.gate.wakeBy(Date.now());
    return result;
  }

  /** Woken by its destination (breaker closed, its probe, its source resumed): the alarm is due now. Idempotent. */
  async wake(): Promise<void> {
    this.holds.woken(now());
    await this.gate.wakeBy(now());
  }

  /** Holds this account's deliveries (claims and acks go on); they keep their order. */
  async pause(by: string): Promise<{ paused: boolean; changed: boolean }> {
    this.identity.check("pause", "account");
    return { paused: true, changed: this.holds.setPaused(by, now(), this.identity.get()) };
  }

  /** Lifts the pause: the held events go out in order, from now. */
  async resume(by: string): Promise<{ paused: boolean; changed: boolean }> {
    this.identity.check("resume", "account");
    const changed = this.holds.clearPaused(by, this.identity.get());
    if (changed && this.outbox.dueAt() !== undefined) await this.gate.wakeBy(now());
    return { paused: false, changed };
  }

  /** Whether this account is paused or held, and since when (./hold.ts). */
  async delivery(): Promise<AccountDelivery> {
    return this.holds.status();
  }

  // -------------------------------------------------------------------------------------------
  // Quarantine role

  /** Stores a verified callback the adapters could not read: kept raw, never forwarded. */
  async quarantine(input: QuarantineInput): Promise<ClaimResult> {
    const claim = claimQuarantined(this.gate, this.identity, this.partitions, input);
    if (claim.wakeAt !== undefined) await this.gate.wakeBy(claim.wakeAt);
    return claimResult(this.gate, claim.outcome);
  }

  /** Quarantined callbacks with their raw bytes and signed fields, oldest first, after `afterSeq` (for re-processing). */
  async quarantined(limit = 100, afterSeq = 0): Promise<QuarantinedEvent[]> {
    this.identity.check("quarantined", "quarantine");
    return listQuarantined(this.gate, limit, afterSeq);
  }

  /** The bytes received for a quarantined (or re-processed) callback. */
  async raw(id: string): Promise<Uint8Array | undefined> {
    this.identity.check("raw", "quarantine");
    return rawBytes(this.gate, id);
  }

  /** The signed fields kept with a quarantined (or re-processed) callback; undefined when none were. */
  async signed(id: string): Promise<SignedFields | undefined> {
    this.identity.check("signed", "quarantine");
    return keptSigned(this.gate, id);
  }

  /** Marks a quarantined callback as re-processed. Storage, then the alarm that retries the index, then the index. */
  async markReprocessed(id: string, outcome: string): Promise<void> {
    this.identity.claim("markReprocessed", "quarantine");
    const seq = markReprocessed(this.gate, id, outcome);
    if (seq === undefined) return;
    this.cursors.revisit(seq);
    await this.gate.wakeBy(Date.now());
    await this.index.afterAction();
  }

  // -------------------------------------------------------------------------------------------
  // Stats role

  /** Adds to this source's counters; returns the rows this object read and wrote since its last report. */
  async addCounters(deltas: Counts): Promise<RowUsage> {
    this.identity.claim("addCounters", "stats");
    addCounters(this.gate, deltas);
    return this.gate.take();
  }

  async counters(): Promise<Record<string, number>> {
    this.identity.check("counters", "stats");
    return readCounters(this.gate);
  }

  // -------------------------------------------------------------------------------------------
  // Alarm: deliver, index, prune, schedule

  /**
   * Delivers the due head of the outbox, then the next, in order; writes the operators' index;
   * prunes; then sets the next wake-up from what is stored at that moment (`schedule`), so an
   * event accepted during any await of this run (an origin call, a KV write, the counters
   * flush) is never left behind a later wake-up. Whatever the role: an object with no events
   * finds nothing to do.
   */
  override async alarm(): Promise<void> {
    // One delivery loop per object: the running loop re-reads the head after every event and
    // schedules from the stored state when it ends, so a second entry (a test's forced alarm,
    // or a retried alarm) has nothing to add, and two loops would send the same head twice.
    // The runtime cleared the alarm that fired (a forced run: the harness deleted it).
    this.gate.alarmFired();
    if (this.delivering) return;
    this.delivering = true;
    const loaded = loadConfig(this.env);
    const config = loaded.ok ? loaded.config : undefined;
    try {
      const stats: Counts = { alarms: 1 };
      // The index is written between events of a long run too (./outbox.ts BETWEEN_EVERY_MS).
      if (config !== undefined) await this.outbox.deliver(config, stats, () => this.index.sync(stats, config));
      await this.index.sync(stats, config);
      if (config !== undefined) this.nextPruneAt = this.prunes.runIfDue(config, now(), (stats.delivered ?? 0) > 0, this.nextPruneAt);
      await this.outbox.notices.announce(this.env, this.identity.get()?.account);
      await flushRunStats(this.env, this.identity, { ...stats, ...this.gate.take() }, config);
    } catch (err) {
      // Not swallowed: the runtime retries a failed run. The line says which object and why.
      const failure = storageFailure(err);
      log("alarm_error", { level: failure.level, ...this.identity.get(), ...failure.fields });
      throw err;
    } finally {
      this.delivering = false;
      // After the last await, and also when something above threw: nothing is stranded.
      await this.schedule(config);
    }
  }

  /**
   * Sets the alarm from the stored state, in one synchronous block (nothing can change the
   * state between the read and the set): the outbox head's due time or its hold's recheck time
   * (none while the account is paused; a retry soon when the configuration cannot be read), the
   * index's next look or retry (./index-feed.ts), queued dead-letter notices (./dead-letter.ts), the next prune.
   */
  private async schedule(config: GatewayConfig | undefined): Promise<void> {
    const at = now();
    const wakes: number[] = [];
    const head = this.outbox.dueAt();
    if (head !== undefined) wakes.push(config !== undefined ? (head ?? at) : at + RETRY.baseMs);
    // The index's next look or retry; dead letters' notices the operations feed did not store.
    for (const next of [this.index.wakeAt(at, config), this.outbox.notices.retryAt(at)]) if (next !== undefined) wakes.push(next);
    if (this.nextPruneAt !== undefined) wakes.push(this.nextPruneAt);
    if (wakes.length > 0) await this.gate.wakeBy(Math.min(...wakes));
  }
}
