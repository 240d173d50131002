// `npm run bench`, section 7: SQLite rows read per event by an account that already holds
// 100,000 retained events, against an account that holds none, in the same run.
//
// The large account is built the way a long-lived one looks, without sending 100,000 requests:
// the gateway (with Durable Object storage persisted to a temporary folder) stores and delivers
// one real event for the account, then stops; the account object's SQLite file is opened with
// Node's own SQLite and given 100,000 more rows in the ledger's schema: delivered events received
// over the last 300 days (one row a few minutes apart), bodies dropped for those past the 7-day
// retention, and the cursors retention and the outbox would have left (src/ledger/cursors.ts).
// The gateway then starts again on that storage, and the same load of new events is sent to the
// large account and to an account with no history; each is delivered before the counters are
// read. Rows read per event = the source's `sql_rows_read` counter delta over the events sent.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

const RETAINED = 100_000;
const DAY = 86_400_000;

async function sqliteFiles(dir) {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith(".sqlite")) out.push(join(entry.parentPath ?? entry.path, entry.name));
  }
  return out;
}

/** Adds RETAINED delivered rows before the account's one real event, as months of traffic would have. */
function seed(file, now) {
  const db = new DatabaseSync(file);
  try {
    const real = db.prepare("SELECT seq, id, source, idempotency_key, type, body FROM events ORDER BY seq LIMIT 1").get();
    const start = now - 300 * DAY;
    const step = Math.floor((300 * DAY) / (RETAINED + 1));
    const bodyCutoff = now - 7 * DAY;
    db.exec("BEGIN");
    // The real event becomes the newest: it keeps its id and body, renumbered after the seeded rows.
    db.prepare("UPDATE events SET seq = ? WHERE seq = ?").run(RETAINED + 1, real.seq);
    const insert = db.prepare(
      `INSERT INTO events (seq, id, source, idempotency_key, type, state, body, received_at, attempts, last_status, delivered_at, indexed)
       VALUES (?, ?, ?, ?, ?, 'delivered', ?, ?, 1, 200, ?, 0)`,
    );
    let lastExpiredBody = 0;
    for (let i = 1; i <= RETAINED; i++) {
      const receivedAt = start + i * step;
      const expired = receivedAt + 100 < bodyCutoff;
      if (expired) lastExpiredBody = i;
      insert.run(
        i,
        `evt_${i.toString(16).padStart(32, "0")}`,
        real.source,
        `seed-${i}`,
        real.type,
        expired ? null : real.body,
        receivedAt,
        receivedAt + 100,
      );
    }
    const meta = db.prepare("INSERT INTO _meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    meta.run("outbox_after", String(RETAINED + 1));
    meta.run("bodies_after", String(lastExpiredBody));
    meta.run("keys_after", "0");
    db.exec("COMMIT");
    return {
      retained: db.prepare("SELECT COUNT(*) AS n FROM events").get().n,
      withBody: db.prepare("SELECT COUNT(*) AS n FROM events WHERE body IS NOT NULL").get().n,
    };
  } finally {
    db.close();
  }
}

/**
 * `startGateway(persistDir)` starts the gateway on persisted storage; `send(gateway, account,
 * count)` sends `count` new events to one account and waits until they are delivered;
 * `counters(gateway)` flushes and reads the source's counters.
 */
export async function measureRetained({ persistDir, startGateway, send, counters, log }) {
  const large = 7_000_001;
  const empty = 7_000_002;
  const events = 1000;
  let gateway = await startGateway(persistDir);
  try {
    await send(gateway, large, 1);
  } finally {
    await gateway.mf.dispose();
  }
  const files = [];
  for (const file of await sqliteFiles(persistDir)) {
    const db = new DatabaseSync(file, { readOnly: true });
    try {
      const role = db.prepare("SELECT value FROM _meta WHERE key = 'role'").get()?.value;
      if (role === "account") files.push(file);
    } catch {
      // Not a ledger (or not one with a _meta table yet).
    } finally {
      db.close();
    }
  }
  if (files.length !== 1) throw new Error(`expected one account object in ${persistDir}, found ${files.length}`);
  const seeded = seed(files[0], Date.now());
  log(`retained: account seeded with ${seeded.retained} rows (${seeded.withBody} with a body)`);
  gateway = await startGateway(persistDir);
  try {
    const result = { retained: seeded.retained, withBody: seeded.withBody, events };
    // The empty account's object exists before it is measured, as the large one's does.
    await send(gateway, empty, 1);
    for (const [name, account] of [
      ["empty", empty],
      ["large", large],
    ]) {
      const before = await counters(gateway);
      await send(gateway, account, events);
      const after = await counters(gateway);
      result[name] = {
        rowsRead: (after.sql_rows_read ?? 0) - (before.sql_rows_read ?? 0),
        rowsWritten: (after.sql_rows_written ?? 0) - (before.sql_rows_written ?? 0),
        doRequests: (after.do_requests ?? 0) - (before.do_requests ?? 0),
      };
      log(`retained: ${name} account, ${events} events: ${result[name].rowsRead} rows read, ${result[name].rowsWritten} written`);
    }
    return result;
  } finally {
    await gateway.mf.dispose();
  }
}
