/**
 * What the operators' and retention's reads cost stays bounded by what they return, not by what
 * an account keeps (docs/operations.md "Retention" and "Reading an account's history"). Both
 * tests failed before retention read `events` in pages from 1 row (it read a batch of 500 per
 * cursor whatever had expired) and before a history page skipped the keys partitions wholly
 * before `after` (the catalog's `first_seq`).
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config";
import type { AccountLedger } from "../src/ledger/AccountLedger";
import type { Cursors } from "../src/ledger/cursors";
import type { Partitions } from "../src/ledger/partitions";
import { prune } from "../src/ledger/retention";
import type { LedgerStorage } from "../src/ledger/storage";
import { drain, uniqueAccount } from "./support/gateway";
import { acceptInput, ledger } from "./support/ledger-faults";
import { ageRows } from "./support/ledger-sql";

const SOURCE = "cybavo";

interface Parts {
  gate: LedgerStorage;
  cursors: Cursors;
  partitions: Partitions;
}

/** Rows read by one prune of the object, with nothing expired. */
async function pruneReads(stub: DurableObjectStub<AccountLedger>): Promise<number> {
  return runInDurableObject(stub, (instance) => {
    const { gate, cursors, partitions } = instance as unknown as Parts;
    const loaded = loadConfig(env);
    if (!loaded.ok) throw new Error("config");
    const before = gate.totals().rowsRead;
    prune(gate, cursors, partitions, loaded.config, Date.now());
    return gate.totals().rowsRead - before;
  });
}

describe("rows read do not grow with what an account keeps", () => {
  it("a prune that finds nothing expired reads about as many rows with 600 retained `events` rows as with 5", async () => {
    const reads: number[] = [];
    for (const n of [5, 600]) {
      const account = `review-cost-${n}-${uniqueAccount()}`;
      const stub = ledger(SOURCE, account);
      await stub.accept(await acceptInput(SOURCE, account, "first"));
      await drain(SOURCE, account);
      // Rows in `events` as an account deployed before migration 8 holds them (or as a replay
      // leaves them): delivered now, so nothing has expired.
      await runInDurableObject(stub, (_i, state) => {
        const now = Date.now();
        state.storage.sql.exec(
          `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
           INSERT INTO events (seq, id, source, idempotency_key, type, state, body, received_at, attempts, delivered_at)
           SELECT 1000 + i, 'evt_legacy_' || i, 'cybavo', 'k' || i, 'deposit.updated', 'delivered', '{}', ?, 1, ? FROM n`,
          n,
          now,
          now,
        );
      });
      reads.push(await pruneReads(stub));
    }
    expect(reads[1]! - reads[0]!).toBeLessThan(50);
  });
  it("an admin page `after` a seq does not scan the keys partitions wholly before it (docs/operations.md: each page reads the partitions from there)", async () => {
    const account = `review-list-${uniqueAccount()}`;
    const stub = ledger(SOURCE, account);
    // 200 events in a first keys partition; 33 days later (rows aged: the clock cannot move) one more opens a second.
    for (let i = 0; i < 200; i++) await stub.accept(await acceptInput(SOURCE, account, `old${i}`));
    await drain(SOURCE, account);
    await runInDurableObject(stub, (instance, state) => ageRows(instance, state.storage.sql, 33 * 86_400_000));
    await stub.accept(await acceptInput(SOURCE, account, "new"));
    await drain(SOURCE, account);
    const { read, page } = await runInDurableObject(stub, async (instance) => {
      const { gate } = instance as unknown as Parts;
      const before = gate.totals().rowsRead;
      const page = await instance.events({ afterSeq: 200, limit: 10 });
      return { read: gate.totals().rowsRead - before, page };
    });
    expect(page.map((e) => e.seq)).toEqual([201]);
    // The page holds one event; reading it should not cost the 200 keys of the partition before it.
    expect(read).toBeLessThan(50);
  });
});
