/**
 * Retention drops the request headers kept with a delivered event's body together with the body
 * (docs/operations.md "Retention"): headers are personal data as much as the body is. A time
 * partition drops both with its bodies table; a delivered row in `events` (one an operator put
 * back, or one kept from before partitions) had its body cleared and its headers kept for the
 * key retention until this test.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config";
import type { Cursors } from "../src/ledger/cursors";
import type { Partitions } from "../src/ledger/partitions";
import { prune } from "../src/ledger/retention";
import type { LedgerStorage } from "../src/ledger/storage";
import { uniqueAccount } from "./support/gateway";
import { ledger } from "./support/ledger-faults";

interface Parts {
  gate: LedgerStorage;
  cursors: Cursors;
  partitions: Partitions;
}

describe("retention of a delivered event's body", () => {
  it("clears the headers kept with it, and keeps the key row", async () => {
    const stub = ledger("cybavo", `retention-headers-${uniqueAccount()}`);
    const rows = await runInDurableObject(stub, (instance, state) => {
      const { gate, cursors, partitions } = instance as unknown as Parts;
      const loaded = loadConfig(env);
      if (!loaded.ok) throw new Error("config");
      const now = Date.now();
      const old = now - 8 * 86_400_000;
      state.storage.sql.exec(
        `INSERT INTO events (seq, id, source, idempotency_key, type, state, body, headers, received_at, attempts, delivered_at)
         VALUES (1, 'evt_old', 'cybavo', 'k1', 'deposit.updated', 'delivered', '{}', '{"user-agent":"x"}', ?1, 1, ?1),
                (2, 'evt_new', 'cybavo', 'k2', 'deposit.updated', 'delivered', '{}', '{"user-agent":"y"}', ?2, 1, ?2)`,
        old,
        now,
      );
      prune(gate, cursors, partitions, loaded.config, now);
      return state.storage.sql.exec("SELECT id, body, headers FROM events ORDER BY seq").toArray();
    });
    expect(rows).toEqual([
      { id: "evt_old", body: null, headers: null },
      { id: "evt_new", body: "{}", headers: '{"user-agent":"y"}' },
    ]);
  });
});
