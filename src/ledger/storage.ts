/**
 * The one gate to a ledger object's storage. Every SQL statement of the project and every alarm
 * it sets goes through here: nothing else touches `ctx.storage.sql` or `setAlarm`, so what this
 * counts is what Cloudflare bills (docs/benchmarks.md "How SQLite storage is billed"):
 * - rows read and written, as SQLite reports them per statement (`rowsRead`, `rowsWritten`:
 *   an inserted row and each index entry it adds, an updated row and each index it changes,
 *   a deleted row);
 * - one row written per `setAlarm()`, which no cursor shows.
 * Statements run to completion here (every row read), so a count is final when it is added.
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

  constructor(private readonly storage: DurableObjectStorage) {}

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
   * Sets the object's alarm: one row written. The storage call is made before this returns its
   * promise, so a caller's write and its alarm stay in one synchronous block.
   */
  async setAlarm(at: number): Promise<void> {
    await this.storage.setAlarm(at);
    this.rowsWritten += 1;
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
