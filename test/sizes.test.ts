/**
 * Sizes the storage can hold (docs/configuration.md "Sizes" and "Key retention"): one
 * retained idempotency key costs a measured number of bytes; a signed body at the largest
 * MAX_BODY_BYTES is stored and delivered; a verified event whose ledger row would pass SQLite's
 * 2 MB limit is quarantined with its raw bytes instead of failing with a 503 on every retry.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { eventId, QUARANTINE_ACCOUNT } from "../src/ingress";
import { accountLedger, internalLedger } from "../src/object-names";
import killbDeposit from "../src/providers/killb/fixtures/transaction-deposit.json" with { type: "json" };
import { eventRowProblem, MAX_BODY_BYTES_LIMIT, SQLITE_ROW_LIMIT_BYTES, utf8Length } from "../src/storage-limits";
import { drainAccount } from "./support/accounts";
import { cregisBody, jsonFields, originEvents, post, uniqueAccount } from "./support/gateway";
import { killbSignature } from "./support/kits";
import { keysTables } from "./support/ledger-sql";

/** Ceiling on bytes per retained key row, as documented in docs/configuration.md "Key retention" (measured about 170). */
const DOCUMENTED_KEY_ROW_BYTES = 180;

describe("key retention cost", () => {
  it(`a retained idempotency key takes at most ${DOCUMENTED_KEY_ROW_BYTES} bytes of SQLite storage`, async () => {
    const stub = env.LEDGER.get(env.LEDGER.idFromName(`size-probe/${crypto.randomUUID()}`));
    const rows = 5000;
    const perRow = await runInDurableObject(stub, async (ledger, state) => {
      const now = Date.now();
      for (let i = 0; i < rows; i++) {
        // A Cregis-shaped key (45 characters) and an unconfigured source, so no alarm delivers.
        await ledger.accept({
          id: `evt_${crypto.randomUUID().replaceAll("-", "")}`,
          source: "size-probe",
          account: "1382528827416576",
          idempotencyKey: `payout:1382528827416576:${1391751691788500 + i}:6`,
          type: "withdrawal.updated",
          body: "{}",
          receivedAt: now,
        });
      }
      await state.storage.deleteAlarm();
      // What retention keeps of a delivered event once its bodies partition is dropped: its key
      // row, marked delivered (an in-place update). A dropped table's pages stay in the file for
      // reuse, and the bodies are in the same file, so the key rows are measured on their own:
      // copied, in the order they were claimed (ids are hashes: random order, as in production),
      // into a twin of their keys partition, and the file's growth divided by their number.
      const sql = state.storage.sql;
      const [keys] = keysTables(sql);
      sql.exec(
        `UPDATE ${keys} SET state = 'delivered', attempts = 1, last_status = 200, delivered_at = received_at, next_attempt_at = NULL`,
      );
      const ddl = sql.exec<{ sql: string }>("SELECT sql FROM sqlite_master WHERE name = ?", keys).one().sql;
      const before = sql.databaseSize;
      sql.exec(ddl.replace(`CREATE TABLE ${keys} (`, "CREATE TABLE key_twin ("));
      sql.exec(`INSERT INTO key_twin SELECT * FROM ${keys} ORDER BY seq`);
      return (sql.databaseSize - before) / rows;
    });
    console.log(`bytes per retained key row: ${perRow}`);
    expect(perRow).toBeGreaterThan(60);
    expect(perRow).toBeLessThanOrEqual(DOCUMENTED_KEY_ROW_BYTES);
  });
});

describe("row size arithmetic", () => {
  it("utf8Length is the UTF-8 length TextEncoder produces, lone surrogates included (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => {
        expect(utf8Length(text)).toBe(new TextEncoder().encode(text).length);
      }),
      { numRuns: 2000 },
    );
  });

  it("an event row fits up to the limit and not one byte past it", () => {
    // 1024 bytes are kept for the row's other columns.
    const envelope = "é".repeat(1000); // 2,000 bytes, 1,000 UTF-16 units
    const fitting = SQLITE_ROW_LIMIT_BYTES - 1024 - 2000 - 3;
    expect(eventRowProblem(envelope, fitting, "key")).toBeUndefined();
    expect(eventRowProblem(envelope, fitting + 1, "key")).toBe(
      "too large to store as an event: 2000001 bytes (a ledger row holds at most 2000000)",
    );
  });
});

/** A gateway whose MAX_BODY_BYTES is the largest allowed. */
const atTheCap = { ...env, MAX_BODY_BYTES: String(MAX_BODY_BYTES_LIMIT) } as Env;

describe("bodies near the cap", () => {
  it("a signed KillB body of MAX_BODY_BYTES_LIMIT bytes, copied into the event, is stored and delivered", async () => {
    const user = `big-${uniqueAccount()}`;
    const key = `evt_${crypto.randomUUID()}`;
    const shell = JSON.stringify({ ...killbDeposit, id: key, data: { ...killbDeposit.data, id: "", userId: user } });
    // `data.id` is copied into the event (`orderId`): the row holds it twice.
    const body = JSON.stringify({
      ...killbDeposit,
      id: key,
      data: { ...killbDeposit.data, id: "t".repeat(MAX_BODY_BYTES_LIMIT - shell.length), userId: user },
    });
    expect(body.length).toBe(MAX_BODY_BYTES_LIMIT);
    const response = await post("killb", body, { "x-signature-sha256": await killbSignature(body) }, atTheCap);
    expect(response.status).toBe(200);
    await drainAccount("killb", user);
    const delivered = await originEvents(user);
    expect(delivered.map((e) => e.id)).toEqual([await eventId("killb", user, key)]);
    expect(delivered[0]?.json.data.payload).toEqual(JSON.parse(body));
  });

  it("a verified event whose row would pass 2 MB is quarantined raw, not a 503 on every retry", async () => {
    // A Cregis order deposit without `cid`: `third_party_id` is in the idempotency key, in the
    // event (`orderId`) and in the payload: three copies of 800 KB.
    const pid = String(uniqueAccount());
    const fields = jsonFields({
      pid: Number(pid),
      chain_id: "195",
      token_id: "195",
      currency: "TRX",
      amount: "10",
      address: "TXsmKpEuW7qWnXzJLGP9eDLvWPR2GRn1FS",
      real_amount: "10",
      third_party_id: "o".repeat(800_000),
      status: 2,
      nonce: `n${pid}`,
      timestamp: Date.now(),
    });
    const body = await cregisBody(fields);
    expect(body.length).toBeLessThan(MAX_BODY_BYTES_LIMIT);
    for (const attempt of [1, 2]) {
      const response = await post("cregis", body, {}, atTheCap);
      expect([attempt, response.status, await response.text()]).toEqual([attempt, 200, "success"]);
    }
    const quarantined = (await internalLedger(env, "cregis", QUARANTINE_ACCOUNT).events({ limit: 1000 })).filter((r) =>
      r.reason?.startsWith("too large to store as an event"),
    );
    expect(quarantined.map((r) => r.reason)).toEqual([expect.stringMatching(/^too large to store as an event: \d+ bytes/)]);
    const raw = await internalLedger(env, "cregis", QUARANTINE_ACCOUNT).raw(quarantined[0]!.id);
    expect(raw && new TextDecoder().decode(raw)).toBe(body);
    expect(await accountLedger(env, "cregis", pid).events()).toEqual([]);
  });
});
