/**
 * Retention: what a ledger keeps, and for how long (docs/configuration.md "Key retention").
 * Delivered events' bodies are dropped after RETENTION_DELIVERED_SECONDS and their rows (the
 * idempotency keys) after RETENTION_KEYS_SECONDS; expired nonces go too. Dead letters and
 * quarantined events stay until an operator acts. `seq` is AUTOINCREMENT, so a deleted row's
 * number is never given again: an account's `sequence` only grows.
 */
import type { GatewayConfig } from "../config";
import type { LedgerStorage } from "./storage";

/** Prunes what is due; returns when the next prune is due, if anything is left to prune. */
export function prune(storage: LedgerStorage, config: GatewayConfig, now: number): number | undefined {
  const bodyTtl = config.retentionDeliveredSeconds * 1000;
  const keyTtl = config.retentionKeysSeconds * 1000;
  storage.run("UPDATE events SET body = NULL WHERE state = 'delivered' AND body IS NOT NULL AND delivered_at < ?", now - bodyTtl);
  const old = `state IN ('delivered', 'reprocessed') AND received_at < ${now - keyTtl}`;
  storage.run(`DELETE FROM attempts WHERE event_seq IN (SELECT seq FROM events WHERE ${old})`);
  storage.run(`DELETE FROM events WHERE ${old}`);
  storage.run("DELETE FROM nonces WHERE expires_at < ?", now);
  const next = storage.rows<{ at: number | null }>(
    `SELECT MIN(at) AS at FROM (
         SELECT MIN(delivered_at) + ? AS at FROM events WHERE state = 'delivered' AND body IS NOT NULL
         UNION ALL SELECT MIN(received_at) + ? FROM events WHERE state IN ('delivered', 'reprocessed')
         UNION ALL SELECT MIN(expires_at) FROM nonces)`,
    bodyTtl,
    keyTtl,
  )[0]!.at;
  return next === null ? undefined : Math.max(next, now + 1000);
}
