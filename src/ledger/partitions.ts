/**
 * Time partitions of an account's events (docs/architecture.md "Partitions"): retention drops a
 * whole table, which SQLite bills as 0 rows written, where deleting its rows one by one costs a
 * row each. An event that takes the common path (claimed, delivered, expired) lives in two:
 *
 * - `keys_<n>` (`WITHOUT ROWID`, keyed by `id`): the claim and the event's history (state,
 *   attempts, last status, delivery time): 1 row written by the claim, 1 by the delivery.
 *   Spans KEY_SPAN (at most 32 days), dropped whole RETENTION_KEYS_SECONDS after it ends.
 * - `bodies_<n>` (`seq` is the rowid): the CloudEvent to send, in arrival order, which the
 *   outbox reads from its cursor: 1 row written by the claim. Spans BODY_SPAN (at most a day)
 *   inside one keys partition, dropped whole RETENTION_DELIVERED_SECONDS after it ends, once
 *   every row in it is delivered and its last delivery is that old too.
 *
 * Everything off the common path lives in `events` (./schema.ts), as before partitions: a dead
 * letter, an event an operator put back (redeliver, replay), a quarantined callback, and every
 * row written before schema migration 8. Moving a row there deletes it from its partitions in
 * the same synchronous block (`moveToEvents`), so an id is in exactly one place.
 *
 * The catalog (`partitions` table) lists them, with their time range; it is read once per wake.
 *
 * Invariants (test/partitions.test.ts checks them as properties):
 * 1. `seq` only grows: a claim takes one more than every number ever given (kept in memory from
 *    the largest of `seq_floor`, `events` and every bodies partition; a dropped partition's last
 *    number is first raised into `seq_floor`).
 * 2. Partitions are created in time and `seq` order: every row of a partition has a higher `seq`
 *    than every row of an older one, so walking them oldest first is walking `seq`.
 * 3. A partition row is `pending` or `delivered`: any other state moves it to `events`.
 * 4. A partition is dropped only when nothing in it is still needed: no pending row (the outbox
 *    cursor is past its last `seq`), every body past retention, every key past retention.
 */
import type { GatewayConfig } from "../config";
import type { Cursors } from "./cursors";
import { bodiesTable, KEY_COLUMNS, keysTable, type Partition, type PartitionKind, spans } from "./partition-tables";
import type { LedgerStorage } from "./storage";

export type { Partition } from "./partition-tables";

/**
 * Keeps the latest success of the rows `where` selects in `table` as an `attempts` row, before
 * an operator puts them back in the outbox (their row then clears `delivered_at`): every attempt
 * stays in the history. Rows never delivered add nothing.
 */
export function keepSuccess(storage: LedgerStorage, table: string, where: string, ...bindings: unknown[]): void {
  storage.run(
    `INSERT OR IGNORE INTO attempts (event_seq, attempt, at, outcome, status, error, ms)
     SELECT seq, attempts, delivered_at, 'delivered', last_status, NULL, delivered_ms FROM ${table}
     WHERE delivered_at IS NOT NULL AND ${where}`,
    ...bindings,
  );
}

export class Partitions {
  private list: Partition[] | undefined;
  /** The highest `seq` of each bodies partition, as far as known (an upper bound: moved rows leave gaps). */
  private readonly lastSeqOf = new Map<string, number>();
  /** The highest `seq` ever given; undefined until first needed. */
  private lastSeqValue: number | undefined;
  /** A name number higher than any partition's so far. */
  private nextNumber = 0;
  /**
   * What the claim and the outbox read of the list on every call, built once per change of it:
   * the partitions by kind, and the claim's probe of every keys partition.
   */
  private derived: { keys: readonly Partition[]; bodies: readonly Partition[]; probe: string } | undefined;

  constructor(
    private readonly storage: LedgerStorage,
    private readonly cursors: Cursors,
  ) {}

  /** Drops what memory holds, to be read again from storage (after a transaction rolled back). */
  forget(): void {
    this.list = undefined;
    this.derived = undefined;
    this.lastSeqValue = undefined;
    this.lastSeqOf.clear();
  }

  private all(): Partition[] {
    if (this.list === undefined) {
      this.list = this.storage
        .rows<{ name: string; kind: PartitionKind; starts_at: number; ends_at: number; keys: string | null; first_seq: number }>(
          "SELECT name, kind, starts_at, ends_at, keys, first_seq FROM partitions ORDER BY starts_at, kind DESC",
        )
        .map((r) => ({ name: r.name, kind: r.kind, startsAt: r.starts_at, endsAt: r.ends_at, keys: r.keys, firstSeq: r.first_seq }));
      for (const p of this.list) this.nextNumber = Math.max(this.nextNumber, Number(p.name.split("_")[1]) + 1);
    }
    return this.list;
  }

  private view(): NonNullable<Partitions["derived"]> {
    if (this.derived === undefined) {
      const keys = this.all().filter((p) => p.kind === "keys");
      const probe = keys.map((p) => `AND NOT EXISTS (SELECT 1 FROM ${p.name} WHERE id = ?1)`).join(" ");
      this.derived = { keys, bodies: this.all().filter((p) => p.kind === "bodies"), probe };
    }
    return this.derived;
  }

  /** SQL conditions that hold when id `?1` is in no keys partition (a primary-key probe each). */
  absentFromKeys(): string {
    return this.view().probe;
  }

  /** Keys partitions, oldest first. */
  keys(): readonly Partition[] {
    return this.view().keys;
  }

  /** Bodies partitions, oldest first (so in `seq` order). */
  bodies(): readonly Partition[] {
    return this.view().bodies;
  }

  /** The bodies partitions whose keys are in `keys`. */
  bodiesOf(keys: Partition): Partition[] {
    return this.bodies().filter((p) => p.keys === keys.name);
  }

  /** The highest `seq` in a bodies partition (an upper bound); 0 when empty. One row read, once per wake. */
  lastSeq(bodies: Partition): number {
    let last = this.lastSeqOf.get(bodies.name);
    if (last === undefined) {
      last = this.storage.rows<{ seq: number | null }>(`SELECT MAX(seq) AS seq FROM ${bodies.name}`)[0]?.seq ?? 0;
      this.lastSeqOf.set(bodies.name, last);
    }
    return last;
  }

  /** The highest `seq` this object ever gave (invariant 1). */
  highestSeq(): number {
    if (this.lastSeqValue === undefined) {
      let highest = Math.max(
        this.cursors.get("seq_floor"),
        this.storage.rows<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM events")[0]?.seq ?? 0,
      );
      for (const p of this.bodies()) highest = Math.max(highest, this.lastSeq(p));
      this.lastSeqValue = highest;
    }
    return this.lastSeqValue;
  }

  /** Takes the next `seq` for a row stored in `bodies` (or in `events`, for a quarantine). */
  takeSeq(bodies?: Partition): number {
    const seq = this.highestSeq() + 1;
    this.lastSeqValue = seq;
    if (bodies !== undefined) this.lastSeqOf.set(bodies.name, seq);
    return seq;
  }

  /**
   * The partitions a claim at `now` writes to, created when the current ones have ended. A clock
   * that went back keeps writing to the current ones (invariant 2). Creating a pair writes about
   * 4 rows (two `sqlite_master` rows, two catalog rows), once per span per account.
   */
  forClaim(now: number, config: GatewayConfig | undefined): { keys: Partition; bodies: Partition } {
    const span = spans(config);
    let keys = this.keys().at(-1);
    let bodies = this.bodies().at(-1);
    if (keys === undefined || now >= keys.endsAt) {
      keys = this.create("keys", now, now + span.key, null);
      bodies = undefined;
    }
    if (bodies === undefined || bodies.keys !== keys.name || now >= bodies.endsAt) {
      bodies = this.create("bodies", Math.max(now, bodies?.endsAt ?? now), Math.min(now + span.body, keys.endsAt), keys.name);
    }
    return { keys, bodies };
  }

  private create(kind: PartitionKind, startsAt: number, endsAt: number, keys: string | null): Partition {
    const all = this.all();
    const name = `${kind}_${this.nextNumber++}`;
    const end = Math.max(endsAt, startsAt + 1);
    const firstSeq = this.highestSeq() + 1;
    this.storage.run(kind === "keys" ? keysTable(name) : bodiesTable(name));
    this.storage.run(
      "INSERT INTO partitions (name, kind, starts_at, ends_at, keys, first_seq) VALUES (?, ?, ?, ?, ?, ?)",
      name,
      kind,
      startsAt,
      end,
      keys,
      firstSeq,
    );
    const partition: Partition = { name, kind, startsAt, endsAt: end, keys, firstSeq };
    all.push(partition);
    this.derived = undefined;
    if (kind === "bodies") this.lastSeqOf.set(name, 0);
    return partition;
  }

  /** Drops a partition whole (0 rows written for its rows). A bodies partition's last `seq` is kept in `seq_floor` first. */
  drop(partition: Partition): void {
    this.atomically(() => {
      if (partition.kind === "bodies") {
        const last = this.lastSeq(partition);
        if (last > this.cursors.get("seq_floor")) this.cursors.set("seq_floor", last);
      }
      this.storage.run(`DROP TABLE ${partition.name}`);
      this.storage.run("DELETE FROM partitions WHERE name = ?", partition.name);
    });
    this.lastSeqOf.delete(partition.name);
    this.list = this.all().filter((p) => p.name !== partition.name);
    this.derived = undefined;
  }

  /**
   * Runs `work` as one transaction: a table dropped with its catalog row, a row moved with its
   * deletions, or neither. If it fails, what memory holds is read again from storage.
   */
  private atomically<T>(work: () => T): T {
    try {
      return this.storage.atomically(work);
    } catch (err) {
      this.forget();
      throw err;
    }
  }

  /** Where an id's key is, if in a partition. One primary-key probe per keys partition. */
  locate(id: string): Partition | undefined {
    for (const keys of this.keys()) {
      if (this.storage.rows(`SELECT 1 FROM ${keys.name} WHERE id = ?`, id).length > 0) return keys;
    }
    return undefined;
  }

  /** The bodies partition holding `seq`, among those of `keys`; undefined once dropped. */
  bodiesHolding(keys: Partition, seq: number): Partition | undefined {
    for (const bodies of this.bodiesOf(keys)) {
      if (this.storage.rows(`SELECT 1 FROM ${bodies.name} WHERE seq = ?`, seq).length > 0) return bodies;
    }
    return undefined;
  }

  /**
   * An operator's replay of one bodies partition: moves every delivered event in it received
   * since `since` to `events`, pending again, due `now` and put back (`requeued`), in one
   * transaction of three statements whatever their number. Returns their `seq`s.
   */
  replayToEvents(bodies: Partition, since: number, now: number): number[] {
    const keys = bodies.keys ?? "";
    return this.atomically(() => {
      keepSuccess(this.storage, keys, `state = 'delivered' AND received_at >= ? AND id IN (SELECT id FROM ${bodies.name})`, since);
      const seqs = this.storage
        .rows<{ seq: number }>(
          `INSERT INTO events (${KEY_COLUMNS}, body, headers, requeued, indexed)
           SELECT k.id, k.seq, k.source, k.idempotency_key, k.type, 'pending', k.reason, k.received_at, k.attempts, ?2,
                  k.last_status, NULL, NULL, b.body, b.headers, 1, 0
           FROM ${bodies.name} AS b JOIN ${keys} AS k ON k.id = b.id
           WHERE k.state = 'delivered' AND k.received_at >= ?1 RETURNING seq`,
          since,
          now,
        )
        .map((r) => r.seq);
      if (seqs.length > 0) {
        const moved = JSON.stringify(seqs);
        this.storage.run(
          `DELETE FROM ${keys} WHERE id IN (SELECT id FROM ${bodies.name} WHERE seq IN (SELECT value FROM json_each(?)))`,
          moved,
        );
        this.storage.run(`DELETE FROM ${bodies.name} WHERE seq IN (SELECT value FROM json_each(?))`, moved);
      }
      return seqs;
    });
  }

  /**
   * Moves a partition row to `events` (and out of its partitions) with the given changes, in one
   * synchronous block: a dead letter, or an event an operator puts back. Its body comes with it
   * while its bodies partition is kept (with its request headers); `indexed` starts at 0 (its
   * new state is written to the operators' index by ./index-feed.ts). Returns the `seq`, or
   * undefined if the id is not there.
   */
  moveToEvents(keys: Partition, id: string, set: { state: string; requeued: 0 | 1; nextAttemptAt: number | null }): number | undefined {
    const seq = this.storage.rows<{ seq: number }>(`SELECT seq FROM ${keys.name} WHERE id = ?`, id)[0]?.seq;
    if (seq === undefined) return undefined;
    const bodies = this.bodiesHolding(keys, seq);
    const fromBodies = (column: string) => (bodies === undefined ? "NULL" : `(SELECT ${column} FROM ${bodies.name} WHERE seq = k.seq)`);
    return this.atomically(() => {
      // Put back by an operator: its success is kept in the history, and it is not delivered now.
      if (set.state === "pending") keepSuccess(this.storage, keys.name, "id = ?", id);
      this.storage.run(
        `INSERT INTO events (${KEY_COLUMNS}, body, headers, requeued, indexed)
         SELECT id, seq, source, idempotency_key, type, ?2, reason, received_at, attempts, ?3, last_status,
                CASE WHEN ?2 = 'pending' THEN NULL ELSE delivered_at END, CASE WHEN ?2 = 'pending' THEN NULL ELSE delivered_ms END,
                ${fromBodies("body")}, ${fromBodies("headers")}, ?4, 0
         FROM ${keys.name} AS k WHERE id = ?1`,
        id,
        set.state,
        set.nextAttemptAt,
        set.requeued,
      );
      this.storage.run(`DELETE FROM ${keys.name} WHERE id = ?`, id);
      if (bodies !== undefined) this.storage.run(`DELETE FROM ${bodies.name} WHERE seq = ?`, seq);
      return seq;
    });
  }
}
