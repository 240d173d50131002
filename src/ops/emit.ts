/**
 * Stores an operational event for the operations webhook. The event goes into one ledger object,
 * `~ops/gateway` (source OPS_SOURCE, account OPS_ACCOUNT: no configured source starts with `~`,
 * so no provider's account can reach it), through the same `accept` as a provider's event: it is
 * deduplicated by its id (derived from the occurrence's key), stored durably, and delivered by
 * that object's outbox in order, signed, and retried like any origin delivery, to
 * `targetFor(OPS_SOURCE)` (src/destinations.ts), which has no destination object: no breaker and
 * no ceiling guard it, so its failures can never raise a breaker event.
 *
 * Never a loop: nothing is emitted about an `~ops` event (its dead letter, its backlog), so the
 * operations webhook's own failures never produce operational events.
 */
import { now } from "../clock";
import { loadConfig } from "../config";
import { OPS_SOURCE } from "../destinations";
import { eventId } from "../event-id";
import { log } from "../log";
import { accountLedger } from "../object-names";
import { storageFailure } from "../platform-errors";
import { dataProblem, OPS_EVENT_SOURCE, type OpsEventInput } from "./events";

/** The account of the one ledger object that holds the operations feed: `~ops/gateway`. */
export const OPS_ACCOUNT = "gateway";

/** The ledger object of the operations feed. */
export function opsLedger(env: Env) {
  return accountLedger(env, OPS_SOURCE, OPS_ACCOUNT);
}

/** The id of the event a key names: the same key, the same id (and webhook-id). */
export function opsEventId(key: string): Promise<string> {
  return eventId(OPS_SOURCE, OPS_ACCOUNT, key);
}

/** Whether an event is about the operations feed itself: those are never emitted. */
function aboutOps(input: OpsEventInput): boolean {
  return "source" in input.data && input.data.source === OPS_SOURCE;
}

/**
 * Stores `input` for delivery to the operations webhook. Answers `stored` (now, or before under
 * the same key); `skipped` when no operations webhook is configured, when it is about the
 * operations feed itself, or when its data does not match the schema (nothing to retry); `failed`
 * when storing failed (a caller that keeps the occurrence may try again with the same key: one
 * event). Never throws: a failure is logged at `error`.
 */
export type OpsOutcome = "stored" | "skipped" | "failed";

export async function opsEvent(env: Env, input: OpsEventInput): Promise<OpsOutcome> {
  try {
    const loaded = loadConfig(env);
    if (!loaded.ok || loaded.config.ops === undefined) return "skipped";
    if (aboutOps(input)) return "skipped";
    const problem = dataProblem(input);
    if (problem !== undefined) {
      // A caller's bug: nothing that does not match the published schema is sent.
      log("ops_event_error", { level: "error", type: input.type, subject: input.subject, error: "invalid_data", message: problem });
      return "skipped";
    }
    const id = await opsEventId(input.key);
    const body = JSON.stringify({
      specversion: "1.0",
      id,
      source: OPS_EVENT_SOURCE,
      type: input.type,
      subject: input.subject,
      time: new Date(now()).toISOString(),
      datacontenttype: "application/json",
      data: input.data,
    });
    const claim = await opsLedger(env).accept({
      id,
      source: OPS_SOURCE,
      account: OPS_ACCOUNT,
      idempotencyKey: input.key,
      type: input.type,
      body,
      receivedAt: Date.now(),
    });
    log("ops_event", { type: input.type, subject: input.subject, eventId: id, duplicate: claim.duplicate === true });
    return "stored";
  } catch (err) {
    log("ops_event_error", { level: "error", type: input.type, subject: input.subject, ...storageFailure(err).fields });
    return "failed";
  }
}
