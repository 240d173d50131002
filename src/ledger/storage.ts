/**
 * The one gate to a ledger object's storage. Every SQL statement of the project and every alarm
 * it sets goes through here: nothing else touches `ctx.storage.sql` or `setAlarm`, so what this
 * counts is what Cloudflare bills (docs/benchmarks.md "How SQLite storage is billed"):
 * - rows read and written, as SQLite reports them per statement (`rowsRead`, `rowsWritten`:
 *   an inserted row and each index entry it adds, an updated row and each index it changes,
 *   a deleted row);
 * - one row written per `setAlarm()`, which no cursor shows.
 * A statement's counts are added once it has run to completion, so a count is final when it is added.
 */
export interface RowCounts {
  readonly rowsRead: number;
  readonly rowsWritten: number;
}

/** The counters' names for the rows (src/stats.ts). */
export interface RowUsage {
  sql_rows_read: number;
  sql_rows_written: number;
}

export class LedgerStorage {
  private rowsRead = 0;
  private rowsWritten = 0;
  /** The counts at the last `take()`. */
  private taken: RowCounts = { rowsRead: 0, rowsWritten: 0 };
  /** The alarm's time as this instance last set or read it: null when none is set, undefined until known. */
  private alarmAt: number | null | undefined;

  constructor(private readonly storage: DurableObjectStorage) {}

  /**
   * Runs `work` as one SQLite transaction: if it throws, none of its writes are kept (schema
   * migrations: an object is wholly before or wholly after one, never halfway).
   */
  atomically<T>(work: () => T): T {
    return this.storage.transactionSync(work);
  }

  /** Runs a statement and returns its rows. */
  rows<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): T[] {
    const cursor = this.storage.sql.exec<T>(query, ...bindings);
    const rows = cursor.toArray();
    this.rowsRead += cursor.rowsRead;
    this.rowsWritten += cursor.rowsWritten;
    return rows;
  }

  /** Runs a statement that returns nothing (or whose rows are not needed). */
  run(query: string, ...bindings: unknown[]): void {
    this.rows(query, ...bindings);
  }

  /**
   * Makes sure the object's alarm fires no later than `at`: sets it (one row written) only when
   * none is set or the one set is later. An alarm already set at or before `at` is left alone,
   * which saves a row written per call (docs/architecture.md "Outbox scheduling"): an early
   * wake-up finds nothing due and the run re-arms from the stored state. The alarm's time is
   * kept in memory; a fresh isolate reads it once with `getAlarm` (a storage read: the input
   * gate holds other events until it returns, so the caller's write and its alarm still see no
   * other request in between). The storage call is made before the promise is returned.
   */
  async wakeBy(at: number): Promise<void> {
    if (this.alarmAt === undefined) this.alarmAt = await this.storage.getAlarm();
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    await this.storage.setAlarm(at);
    this.rowsWritten += 1;
  }

  /** The alarm fired: the runtime has cleared it, so the next `wakeBy` sets one. Called first thing in `alarm()`. */
  alarmFired(): void {
    this.alarmAt = null;
  }

  /**
   * Rows read and written since the last call, for the counters. Nothing is dropped: what a
   * call does after its report (an alarm run's last scheduling) goes into the next report.
   */
  take(): RowUsage {
    const usage = { sql_rows_read: this.rowsRead - this.taken.rowsRead, sql_rows_written: this.rowsWritten - this.taken.rowsWritten };
    this.taken = { rowsRead: this.rowsRead, rowsWritten: this.rowsWritten };
    return usage;
  }

  /** Everything this instance has counted since it woke. */
  totals(): RowCounts {
    return { rowsRead: this.rowsRead, rowsWritten: this.rowsWritten };
  }
}
