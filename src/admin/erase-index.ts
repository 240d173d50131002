/**
 * An erasure reaches the operators' index too (docs/operations.md "Erase an event's payload"):
 * the amount, currency and provider references the index copied from the payload are cleared
 * from the event's row and its `refs` rows deleted, so a search by an old reference finds
 * nothing. This is the quick path: an index batch the account read before the erasure may still
 * land after it, so the account's feed, which the erasure marks to send the row again, clears
 * them once more in its own later batch (src/index-db/write.ts).
 */

/** One D1 batch (one transaction). An event the index does not hold changes nothing. */
export async function eraseFromIndex(db: D1Database, id: string): Promise<void> {
  await db.batch([
    // By the refs primary key (ref, id), one lookup per reference the row lists.
    db.prepare("DELETE FROM refs WHERE id = ?1 AND ref IN (SELECT value FROM json_each((SELECT refs FROM events WHERE id = ?1)))").bind(id),
    db.prepare("UPDATE events SET amount = NULL, currency = NULL, refs = '[]' WHERE id = ?1").bind(id),
  ]);
}
