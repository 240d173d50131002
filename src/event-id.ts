/**
 * An event's id, the `webhook-id` of every attempt to deliver it (docs/events.md "Event id"):
 * computed from signed content only, so the same provider event always gets the same id.
 */
import { digest, toHex, utf8 } from "./verify/crypto";

/**
 * `evt_` + 128 bits of SHA-256 over the JSON array [source, account, key]: the same provider
 * event always gets the same id, and two accounts never share one (an account key and an
 * idempotency key are both read from signed content; docs/guarantees.md "Identity"). The JSON
 * array keeps the three parts unambiguous whatever characters they hold.
 */
export async function eventId(source: string, account: string, idempotencyKey: string): Promise<string> {
  return `evt_${toHex(await digest("SHA-256", utf8(JSON.stringify([source, account, idempotencyKey])))).slice(0, 32)}`;
}

/**
 * The id the gateway gave the same event before ids named the account (0.1): ledgers that hold
 * events stored then check it too, so a provider's retry across the upgrade stays a duplicate.
 */
export async function legacyEventId(source: string, idempotencyKey: string): Promise<string> {
  return `evt_${toHex(await digest("SHA-256", utf8(`${source}\n${idempotencyKey}`))).slice(0, 32)}`;
}
