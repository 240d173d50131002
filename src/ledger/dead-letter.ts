/**
 * A dead letter's operational event (`gateway.event.dead_lettered`, src/ops/), kept durably until
 * the operations feed has it. The outbox queues the notice in `_meta` (`dead_letter_notices`) in
 * the same synchronous block as the dead-letter write, so the two are stored together; the alarm
 * run after it calls `opsEvent` for each. A notice whose storing failed (`opsEvent` answered
 * "failed": the feed's object could not be reached) stays queued and the alarm comes back for it
 * NOTICE_RETRY_MS later; an isolate that goes meanwhile loses nothing, as the queue is in storage.
 * The event's key (event id and attempt number) makes every try the same one event.
 * Never for an event of the operations webhook itself (`~ops`): a failing ops webhook raises no
 * event about itself, so there is no loop. Nothing is read while the queue is empty: the isolate
 * reads the `_meta` row once, and knows it is empty after.
 */
import { OPS_SOURCE } from "../destinations";
import { log } from "../log";
import { opsEvent } from "../ops/emit";
import { deadLettered } from "../ops/events";
import type { DeadLetter } from "./attempt-log";
import type { LedgerStorage } from "./storage";

/** A notice the feed could not store is tried again this much later. */
export const NOTICE_RETRY_MS = 30_000;
/** At most this many wait (the oldest go first, each logged): a feed down for long does not grow `_meta` without bound. */
const MAX_QUEUED = 1_000;

const sameLetter = (a: DeadLetter, b: DeadLetter) => a.id === b.id && a.attempts === b.attempts;

export class DeadLetterNotices {
  private queued: DeadLetter[] | undefined;

  constructor(private readonly storage: LedgerStorage) {}

  private load(): DeadLetter[] {
    if (this.queued === undefined) {
      const row = this.storage.rows<{ value: string }>("SELECT value FROM _meta WHERE key = 'dead_letter_notices'")[0];
      this.queued = row === undefined ? [] : (JSON.parse(row.value) as DeadLetter[]);
    }
    return this.queued;
  }

  private store(queued: DeadLetter[]): void {
    this.queued = queued;
    if (queued.length === 0) this.storage.run("DELETE FROM _meta WHERE key = 'dead_letter_notices'");
    else this.storage.run("INSERT OR REPLACE INTO _meta (key, value) VALUES ('dead_letter_notices', ?)", JSON.stringify(queued));
  }

  /** Queues a dead letter's notice (called in the block that writes the dead letter). */
  add(letter: DeadLetter): void {
    if (letter.source === OPS_SOURCE) return;
    const queued = [...this.load(), letter];
    for (const dropped of queued.splice(0, Math.max(0, queued.length - MAX_QUEUED))) {
      log("dead_letter_notice_dropped", { level: "error", source: dropped.source, eventId: dropped.id, attempts: dropped.attempts });
    }
    this.store(queued);
  }

  /**
   * When the alarm must come back for notices still queued (undefined: none). A run announces
   * what it dead-lettered before it schedules, so what is left failed (or its run threw): later,
   * never at once, so an unreachable feed does not spin the alarm.
   */
  retryAt(at: number): number | undefined {
    return this.load().length === 0 ? undefined : at + NOTICE_RETRY_MS;
  }

  /**
   * Stores each queued notice in the operations feed; keeps those whose storing failed. Notices
   * queued during its awaits stay queued. Never throws (`opsEvent` does not).
   */
  async announce(env: Env, account: string | undefined): Promise<void> {
    const batch = this.load().slice();
    if (batch.length === 0) return;
    const done: DeadLetter[] = [];
    for (const letter of batch) {
      if (account === undefined) {
        // No identity, no subject to name: never the case for an object that delivered events.
        log("dead_letter_notice_dropped", { level: "error", source: letter.source, eventId: letter.id, attempts: letter.attempts });
        done.push(letter);
        continue;
      }
      const { id: eventId, source, attempts, status } = letter;
      const outcome = await opsEvent(env, deadLettered({ source, account, eventId, attempts, status, reason: letter.error ?? "" }));
      if (outcome !== "failed") done.push(letter);
    }
    if (done.length > 0) this.store(this.load().filter((l) => !done.some((d) => sameLetter(d, l))));
  }
}
