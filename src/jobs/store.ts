/**
 * A bulk job's own state, in its Durable Object's SQLite (through the one storage gate,
 * src/ledger/storage.ts): one `job` row (what it is, where it is, its counts) and `selection`,
 * the events it chose when it started, in the order it handles them (source, account, seq: each
 * account's events oldest first, so they reach the origin in their order).
 *
 * The cursor is the job row's (after_source, after_account, after_seq): every selected event at
 * or before it has been handled, and is counted in done, skipped or failed. It is written with
 * the counts in one statement after each event, so a run that dies before that write calls the
 * ledger again for the same event; the ledger's guard (src/ledger/redeliver-guard.ts) makes that
 * second call a "skipped".
 */
import type { JobState } from "../admin-api/jobs";
import type { LedgerStorage } from "../ledger/storage";

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS job (
    id            TEXT    PRIMARY KEY,   -- the job's UUID (its object is named by it)
    kind          TEXT    NOT NULL,      -- redeliver
    filter        TEXT    NOT NULL,      -- the filter as the operator gave it (JSON)
    selection     TEXT    NOT NULL,      -- the filter it selects with: received before created_at (JSON)
    state         TEXT    NOT NULL,      -- running | done | cancelled | failed
    phase         TEXT    NOT NULL,      -- select (paging the index) | redeliver
    select_cursor TEXT,                  -- the index's cursor of the next page to select
    after_source  TEXT    NOT NULL DEFAULT '',
    after_account TEXT    NOT NULL DEFAULT '',
    after_seq     INTEGER NOT NULL DEFAULT 0,
    total         INTEGER NOT NULL,
    done          INTEGER NOT NULL DEFAULT 0,
    skipped       INTEGER NOT NULL DEFAULT 0,
    failed        INTEGER NOT NULL DEFAULT 0,
    failures      INTEGER NOT NULL DEFAULT 0, -- index reads failed in a row (select phase)
    error         TEXT,                  -- why it failed
    created_by    TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,      -- Unix ms; also the guard's mark
    updated_at    INTEGER NOT NULL
  ) WITHOUT ROWID`,
  `CREATE TABLE IF NOT EXISTS selection (
    source  TEXT    NOT NULL,
    account TEXT    NOT NULL,
    seq     INTEGER NOT NULL,
    id      TEXT    NOT NULL,
    status  TEXT    NOT NULL,           -- as the index showed it
    PRIMARY KEY (source, account, seq)
  ) WITHOUT ROWID`,
];

export interface JobRow extends Record<string, SqlStorageValue> {
  id: string;
  kind: string;
  filter: string;
  selection: string;
  state: JobState;
  phase: "select" | "redeliver";
  select_cursor: string | null;
  after_source: string;
  after_account: string;
  after_seq: number;
  total: number;
  done: number;
  skipped: number;
  failed: number;
  failures: number;
  error: string | null;
  created_by: string;
  created_at: number;
  updated_at: number;
}

export interface Selected extends Record<string, SqlStorageValue> {
  source: string;
  account: string;
  seq: number;
  id: string;
  status: string;
}

export type Outcome = "done" | "skipped" | "failed";

export class JobStore {
  constructor(private readonly storage: LedgerStorage) {
    for (const statement of SCHEMA) storage.run(statement);
  }

  get(): JobRow | undefined {
    return this.storage.rows<JobRow>("SELECT * FROM job")[0];
  }

  create(row: Pick<JobRow, "id" | "kind" | "filter" | "selection" | "total" | "created_by" | "created_at">): void {
    this.storage.run(
      `INSERT INTO job (id, kind, filter, selection, state, phase, total, created_by, created_at, updated_at)
       VALUES (?, ?, ?, ?, 'running', 'select', ?, ?, ?, ?)`,
      row.id,
      row.kind,
      row.filter,
      row.selection,
      row.total,
      row.created_by,
      row.created_at,
      row.created_at,
    );
  }

  /** Sets columns of the job row (names from this module only), and its `updated_at`. */
  update(changes: Partial<Pick<JobRow, "state" | "phase" | "select_cursor" | "total" | "failures" | "error">>, now: number): void {
    const names = Object.keys(changes);
    this.storage.run(
      `UPDATE job SET ${names.map((name) => `${name} = ?`).join(", ")}${names.length > 0 ? ", " : ""}updated_at = ?`,
      ...Object.values(changes),
      now,
    );
  }

  /** Adds one page of the index to the selection and moves the select cursor, in one transaction (a page read twice adds nothing). */
  addPage(rows: readonly Selected[], next: string | null, now: number): void {
    this.storage.atomically(() => {
      this.storage.run(
        `INSERT OR IGNORE INTO selection (source, account, seq, id, status)
         SELECT value ->> 'source', value ->> 'account', value ->> 'seq', value ->> 'id', value ->> 'status' FROM json_each(?)`,
        JSON.stringify(rows),
      );
      this.update({ select_cursor: next }, now);
    });
  }

  selected(): number {
    return this.storage.rows<{ n: number }>("SELECT count(*) AS n FROM selection")[0]?.n ?? 0;
  }

  /** The next selected event after the cursor. */
  next(job: JobRow): Selected | undefined {
    return this.storage.rows<Selected>(
      "SELECT source, account, seq, id, status FROM selection WHERE (source, account, seq) > (?, ?, ?) ORDER BY source, account, seq LIMIT 1",
      job.after_source,
      job.after_account,
      job.after_seq,
    )[0];
  }

  /** Moves the cursor past `event` and counts its outcome: one statement, one row written. */
  handled(event: Selected, outcome: Outcome, now: number): void {
    this.storage.run(
      `UPDATE job SET after_source = ?, after_account = ?, after_seq = ?, ${outcome} = ${outcome} + 1, updated_at = ?`,
      event.source,
      event.account,
      event.seq,
      now,
    );
  }

  /**
   * Ends the job (done), in one transaction with dropping its selection, which it no longer
   * needs: 0 rows written, where deleting its rows would cost one each (the next wake creates an
   * empty table).
   */
  finish(now: number): void {
    this.storage.atomically(() => {
      this.update({ state: "done" }, now);
      this.storage.run("DROP TABLE IF EXISTS selection");
    });
  }
}
