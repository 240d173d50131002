/**
 * Why an account's outbox sends nothing now, and since when (docs/architecture.md "Origin
 * protection: the account side"):
 * - **paused**: an operator paused this account (`pause`/`resume` on the ledger object). Kept in
 *   `_meta` (`paused`: when and by whom). Claims and acks never look at it.
 * - **held**: its destination answered `take` with `held` (src/destination/contract.ts): an open
 *   breaker or a paused source (`open`, `paused`: kept in `_meta` `hold`, with since when and
 *   until when to ask again), or no tokens under the delivery ceiling (`ceiling`: in memory only,
 *   it lasts a fraction of a second to a few seconds, and a lost one costs one early take).
 *
 * Held events are not due: no attempt is made and nothing is written per event. When a hold ends
 * (a take grants sending again), its length is credited to the head's last attempt row
 * (./attempt-budget.ts `creditHold`), so the event's two-day window does not run while it was
 * held. A hold of a pause is credited the same way once the account sends again.
 * Both are read once per isolate (one `_meta` look); nothing is read or written per event.
 */
import { log } from "../log";
import { creditHold } from "./attempt-budget";
import type { LedgerStorage } from "./storage";
import type { AccountDelivery } from "./types";

export type HoldReason = "open" | "paused" | "ceiling";

interface Pause {
  readonly at: number;
  readonly by: string;
}

interface Hold {
  readonly reason: HoldReason;
  /** When the account started waiting: the time credited when it ends. */
  readonly since: number;
  /** When to ask the destination again; null: when woken (a pause of this account's own). */
  readonly until: number | null;
}

export class Holds {
  private loaded = false;
  private pause: Pause | undefined;
  private hold: Hold | undefined;
  /** Wake-ups received by this isolate: a run compares it across its take (a wake meanwhile is not overwritten). */
  private wakeCount = 0;

  constructor(private readonly storage: LedgerStorage) {}

  private load(): void {
    if (this.loaded) return;
    for (const row of this.storage.rows<{ key: string; value: string }>("SELECT key, value FROM _meta WHERE key IN ('paused', 'hold')")) {
      if (row.key === "paused") this.pause = JSON.parse(row.value) as Pause;
      else this.hold = JSON.parse(row.value) as Hold;
    }
    this.loaded = true;
  }

  /** The account's own pause, if it is paused. */
  paused(): Pause | undefined {
    this.load();
    return this.pause;
  }

  /** Pauses the account (logged with the actor); false when it already was. Its hold starts now (or goes on). */
  setPaused(by: string, at: number, account: { source: string; account: string } | undefined): boolean {
    if (this.paused() !== undefined) return false;
    log("account_paused", { level: "info", ...account, by });
    this.pause = { at, by };
    this.storage.run("INSERT OR REPLACE INTO _meta (key, value) VALUES ('paused', ?)", JSON.stringify(this.pause));
    this.held("paused", at, null);
    return true;
  }

  /** Lifts the account's pause (logged with the actor); false when it was not paused. The hold ends when the account next sends. */
  clearPaused(by: string, account: { source: string; account: string } | undefined): boolean {
    if (this.paused() === undefined) return false;
    log("account_resumed", { level: "info", ...account, by });
    this.pause = undefined;
    this.storage.run("DELETE FROM _meta WHERE key = 'paused'");
    if (this.hold !== undefined) this.store({ ...this.hold, until: null });
    return true;
  }

  /**
   * The account is held from `at` (or still is) until `until` (null: until woken). A ceiling
   * hold alone stays in memory; one that follows an open breaker or a pause keeps its start.
   */
  held(reason: HoldReason, at: number, until: number | null): void {
    this.load();
    const since = this.hold?.since ?? at;
    const stored = this.hold !== undefined && this.hold.reason !== "ceiling";
    const next: Hold = { reason: reason === "ceiling" && stored ? this.hold!.reason : reason, since, until };
    if (next.reason === "ceiling") {
      this.hold = next;
      return;
    }
    if (this.hold?.reason === next.reason && this.hold.since === next.since && this.hold.until === next.until) return;
    this.store(next);
  }

  /** Whether the account is held (or was, and has not sent since). */
  holding(): boolean {
    this.load();
    return this.hold !== undefined;
  }

  /** When a held account asks its destination again; undefined when it is not held (or was woken). */
  until(now: number): number | undefined {
    this.load();
    const until = this.hold?.until;
    return until !== null && until !== undefined && until > now ? until : undefined;
  }

  /** Woken by its destination (breaker closed, a probe, a source resumed): the next run asks at once. */
  woken(at: number): void {
    this.load();
    this.wakeCount += 1;
    if (this.hold === undefined || this.hold.until === null || this.hold.until <= at) return;
    if (this.hold.reason === "ceiling") this.hold = { ...this.hold, until: at };
    else this.store({ ...this.hold, until: at });
  }

  /** How many wake-ups this isolate has received (compared before and after a take). */
  wakes(): number {
    return this.wakeCount;
  }

  /**
   * A take granted sending: the hold is over. Its length goes to `head`'s last attempt (when it
   * has failed attempts: the window of an event that never failed has not started).
   */
  release(head: { seq: number; attempts: number }, at: number): void {
    this.load();
    const hold = this.hold;
    if (hold === undefined) return;
    this.hold = undefined;
    if (hold.reason === "ceiling") return;
    creditHold(this.storage, head.seq, head.attempts, at - hold.since);
    this.storage.run("DELETE FROM _meta WHERE key = 'hold'");
  }

  /** What `AccountLedger.delivery()` answers. */
  status(): AccountDelivery {
    const pause = this.paused();
    return {
      paused: pause !== undefined,
      pausedAt: pause?.at ?? null,
      pausedBy: pause?.by ?? null,
      held: pause !== undefined ? "paused" : (this.hold?.reason ?? null),
      heldSince: this.hold?.since ?? pause?.at ?? null,
    };
  }

  private store(hold: Hold): void {
    this.hold = hold;
    this.storage.run("INSERT OR REPLACE INTO _meta (key, value) VALUES ('hold', ?)", JSON.stringify(hold));
  }
}
