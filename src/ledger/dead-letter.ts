/**
 * A dead letter's operational event (`gateway.event.dead_lettered`, src/ops/): raised after the
 * run that wrote it, once its writes are stored. `opsEvent` never throws and does nothing when no
 * OPS_WEBHOOK_URL is configured; its key (event id and attempt number) makes a repeat one event.
 * Never for an event of the operations webhook itself (`~ops`): a failing ops webhook raises no
 * event about itself, so there is no loop.
 */
import { OPS_SOURCE } from "../destinations";
import { opsEvent } from "../ops/emit";
import { deadLettered } from "../ops/events";
import type { DeadLetter } from "./attempt-log";

export async function announceDeadLetters(env: Env, account: string | undefined, dead: readonly DeadLetter[]): Promise<void> {
  for (const letter of dead) {
    if (letter.source === OPS_SOURCE || account === undefined) continue;
    const { id: eventId, source, attempts, status } = letter;
    await opsEvent(env, deadLettered({ source, account, eventId, attempts, status, reason: letter.error ?? "" }));
  }
}
