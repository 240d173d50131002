// `npm run bench`, section 7: SQLite rows read per event by an account that already holds
// 100,000 retained events, against an account that holds none, in the same run.
//
// The large account is built the way a long-lived one looks, without sending 100,000 requests:
// the gateway (with Durable Object storage persisted to a temporary folder) stores and delivers
// one real event for the account, then stops; the account object's SQLite file is opened with
// Node's own SQLite and given 100,000 more events in the ledger's schema: delivered events
// received over the last 300 days (one a few minutes apart) in their time partitions
// (src/ledger/partitions.ts), bodies kept for the last 8 days (retention dropped the older
// bodies partitions), and the outbox and index cursors past them (src/ledger/cursors.ts).
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

const KEY_SPAN = 32 * DAY;

/**
 * Adds RETAINED delivered events before the account's one real event, as months of traffic
 * would have left them (src/ledger/partitions.ts): keys partitions of 32 days over the last 300
 * days, and bodies partitions of a day for the last 8 (older ones retention has dropped).
 */
function seed(file) {
  const db = new DatabaseSync(file);
  try {
    const catalog = db.prepare("SELECT name, kind, starts_at, keys FROM partitions ORDER BY starts_at").all();
    const realKeys = catalog.find((p) => p.kind === "keys");
    const realBodies = catalog.find((p) => p.kind === "bodies");
    if (catalog.length !== 2 || realKeys === undefined || realBodies === undefined) {
      throw new Error(`expected one pair of partitions, found ${JSON.stringify(catalog)}`);
    }
    const real = db.prepare(`SELECT seq, source, type FROM ${realKeys.name}`).get();
    const realBody = db.prepare(`SELECT body FROM ${realBodies.name}`).get().body;
    const start = realKeys.starts_at - 300 * DAY;
    const step = Math.floor((300 * DAY) / (RETAINED + 1));
    const bodiesFrom = realKeys.starts_at - 8 * DAY;
    db.exec("BEGIN");
    // The real event becomes the newest: it keeps its id and body, renumbered after the seeded rows.
    db.prepare(`UPDATE ${realKeys.name} SET seq = ? WHERE seq = ?`).run(RETAINED + 1, real.seq);
    db.prepare(`UPDATE ${realBodies.name} SET seq = ? WHERE seq = ?`).run(RETAINED + 1, real.seq);
    const addPartition = db.prepare("INSERT INTO partitions (name, kind, starts_at, ends_at, keys, first_seq) VALUES (?, ?, ?, ?, ?, ?)");
    db.prepare("UPDATE partitions SET first_seq = ?").run(RETAINED + 1);
    const keysFor = new Map();
    let number = 1000;
    const keysOf = (at, seq) => {
      const index = Math.floor((at - start) / KEY_SPAN);
      let name = keysFor.get(index);
      if (name === undefined) {
        name = `keys_${number++}`;
        db.exec(
          `CREATE TABLE ${name} (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, source TEXT NOT NULL, idempotency_key TEXT NOT NULL,
           type TEXT NOT NULL, state TEXT NOT NULL, reason TEXT, received_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
           next_attempt_at INTEGER, last_status INTEGER, delivered_at INTEGER) WITHOUT ROWID`,
        );
        const from = start + index * KEY_SPAN;
        addPartition.run(name, "keys", from, Math.min(from + KEY_SPAN, realKeys.starts_at), null, seq);
        keysFor.set(index, name);
      }
      return name;
    };
    const bodiesFor = new Map();
    const bodiesOf = (at, keys, seq) => {
      const index = Math.floor((at - bodiesFrom) / DAY);
      const id = `${index}:${keys}`;
      let name = bodiesFor.get(id);
      if (name === undefined) {
        name = `bodies_${number++}`;
        db.exec(`CREATE TABLE ${name} (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, body TEXT NOT NULL)`);
        const from = Math.max(bodiesFrom + index * DAY, start + Math.floor((at - start) / KEY_SPAN) * KEY_SPAN);
        addPartition.run(name, "bodies", from, Math.min(bodiesFrom + (index + 1) * DAY, realKeys.starts_at), keys, seq);
        bodiesFor.set(id, name);
      }
      return name;
    };
    let withBody = 0;
    for (let i = 1; i <= RETAINED; i++) {
      const receivedAt = start + i * step;
      const id = `evt_${i.toString(16).padStart(32, "0")}`;
      const keys = keysOf(receivedAt, i);
      db.prepare(
        `INSERT INTO ${keys} (id, seq, source, idempotency_key, type, state, received_at, attempts, last_status, delivered_at)
         VALUES (?, ?, ?, ?, ?, 'delivered', ?, 1, 200, ?)`,
      ).run(id, i, real.source, `seed-${i}`, real.type, receivedAt, receivedAt + 100);
      if (receivedAt >= bodiesFrom) {
        db.prepare(`INSERT INTO ${bodiesOf(receivedAt, keys, i)} (seq, id, body) VALUES (?, ?, ?)`).run(i, id, realBody);
        withBody++;
      }
    }
    const meta = db.prepare("INSERT INTO _meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    meta.run("outbox_after", String(RETAINED + 1));
    // The operators' index took them as they were delivered (src/ledger/index-feed.ts): its
    // cursor is past them too, as in an account that has lived with the index (an account that
    // predates it indexes its history once, in bounded batches: docs/deploy.md).
    meta.run("index_after", String(RETAINED + 1));
    db.exec("COMMIT");
    const partitions = db.prepare("SELECT kind, COUNT(*) AS n FROM partitions GROUP BY kind").all();
    return { retained: RETAINED + 1, withBody: withBody + 1, partitions };
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
  const seeded = seed(files[0]);
  log(
    `retained: account seeded with ${seeded.retained} events (${seeded.withBody} with a body) in ${seeded.partitions.map((p) => `${p.n} ${p.kind}`).join(" and ")} partitions`,
  );
  gateway = await startGateway(persistDir);
  try {
    const result = { retained: seeded.retained, withBody: seeded.withBody, partitions: seeded.partitions, events };
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
