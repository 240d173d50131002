/**
 * SQL helpers for tests that look inside a ledger object: its events are in `events` and in
 * its time partitions (src/ledger/partitions.ts), so what a test reads or ages spans both.
 * Used from inside runInDurableObject, with the object's own `state.storage.sql`.
 */

/** The keys partitions, oldest first. */
export function keysTables(sql: SqlStorage): string[] {
  return sql
    .exec<{ name: string }>("SELECT name FROM partitions WHERE kind = 'keys' ORDER BY starts_at")
    .toArray()
    .map((r) => r.name);
}

/** The bodies partitions with their keys partition, oldest first. */
export function bodiesTables(sql: SqlStorage): { name: string; keys: string }[] {
  return sql.exec<{ name: string; keys: string }>("SELECT name, keys FROM partitions WHERE kind = 'bodies' ORDER BY starts_at").toArray();
}

export interface AnyRow extends Record<string, SqlStorageValue> {
  seq: number;
  id: string;
  state: string;
  requeued: number;
  hasBody: number;
  next_attempt_at: number | null;
  /** Where the row is: `events` or a keys partition. */
  table: string;
}

/** Every event row of the object, wherever it is, in `seq` order. */
export function allRows(sql: SqlStorage): AnyRow[] {
  const rows = sql
    .exec<AnyRow>("SELECT seq, id, state, requeued, body IS NOT NULL AS hasBody, next_attempt_at, 'events' AS table_name FROM events")
    .toArray()
    .map((r) => ({ ...r, table: "events" }));
  const bodies = bodiesTables(sql);
  for (const keys of keysTables(sql)) {
    const held = bodies.filter((b) => b.keys === keys);
    const hasBody = held.length === 0 ? "0" : held.map((b) => `EXISTS (SELECT 1 FROM ${b.name} WHERE seq = k.seq)`).join(" OR ");
    rows.push(
      ...sql
        .exec<AnyRow>(`SELECT seq, id, state, 0 AS requeued, (${hasBody}) AS hasBody, next_attempt_at FROM ${keys} AS k`)
        .toArray()
        .map((r) => ({ ...r, table: keys })),
    );
  }
  return rows.sort((a, b) => a.seq - b.seq);
}

/** Makes every pending row due now (fast-forwards retries without running anything). */
export function makeDueIn(sql: SqlStorage, now = Date.now()): void {
  for (const table of ["events", ...keysTables(sql)]) {
    sql.exec(`UPDATE ${table} SET next_attempt_at = ? WHERE state = 'pending' AND next_attempt_at > ?`, now, now);
  }
}

/**
 * Moves the object's past back by `ms`, as if everything had happened that long ago: receipt
 * and delivery times in every table, and the partitions' time ranges. `what` limits it to
 * receipt times, or to receipt and delivery times (the default).
 */
export function ageRows(
  instance: unknown,
  sql: SqlStorage,
  ms: number,
  what: "received" | "received_and_delivered" = "received_and_delivered",
): void {
  // The instance keeps the catalog in memory: it reads the moved ranges again.
  (instance as { partitions?: { forget(): void } }).partitions?.forget();
  const delivered = what === "received_and_delivered" ? ", delivered_at = delivered_at - ?1" : "";
  for (const table of ["events", ...keysTables(sql)]) sql.exec(`UPDATE ${table} SET received_at = received_at - ?1${delivered}`, ms);
  sql.exec("UPDATE partitions SET starts_at = starts_at - ?1, ends_at = ends_at - ?1", ms);
}
