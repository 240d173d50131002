/**
 * An erasure reaches the operators' index too (docs/operations.md "Erase an event's payload"):
 * the amount, currency and provider references the index copied from the payload are cleared
 * from the event's row and its `refs` rows deleted, so a search by an old reference finds
 * nothing. The account's index feed later rewrites the row's state and reason; it keeps these
 * columns when a send has none (src/index-db/write.ts), so they stay cleared.
 */

/** One D1 batch (one transaction). An event the index does not hold changes nothing. */
export async function eraseFromIndex(db: D1Database, id: string): Promise<void> {
  await db.batch([
    // By the refs primary key (ref, id), one lookup per reference the row lists.
    db.prepare("DELETE FROM refs WHERE id = ?1 AND ref IN (SELECT value FROM json_each((SELECT refs FROM events WHERE id = ?1)))").bind(id),
    db.prepare("UPDATE events SET amount = NULL, currency = NULL, refs = '[]' WHERE id = ?1").bind(id),
  ]);
}
