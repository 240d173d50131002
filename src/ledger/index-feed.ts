/**
 * Writes this account's events to the operators' index, a D1 database (binding INDEX_DB,
 * migrations/0001_index.sql), off the ack path: at the end of every alarm run, after delivery
 * (and between two events of a long run: ./outbox.ts BETWEEN_EVERY_MS), and after an operator's
 * action (redeliver, replay, re-process); never on a claim. Batched: one D1 `batch()` of at most
 * six statements (src/index-db/write.ts) per BATCH_ROWS events.
 *
 * What is sent, and how the object knows what the index still lacks:
 * - rows of `events` (dead letters, events an operator put back, quarantined callbacks, rows
 *   from before time partitions): every write that changes one sets its `indexed` flag to 0,
 *   and the feed sends those (partial index `events_index_work`), marking each 1 after D1 took
 *   it, only if it did not change meanwhile;
 * - rows of the time partitions (the common path), from the cursor `index_after`: the rows after
 *   it are delivered ones (the cursor moves over them once D1 took them) and then the pending
 *   suffix (./partitions.ts invariant 3: delivery in order), sent as pending once per isolate
 *   and per (seq, attempts): in memory, the first pending row as sent and `pendingThrough`, the
 *   last one sent behind it (rows behind the first pending one never change until they are
 *   first), so a backlog is not sent again on every run;
 * - the account's row (`accounts`: backlog, origin health, lag) when it changed, or a minute
 *   after it was last sent.
 * INDEX_MODE "attention" (src/index-db/mode.ts) sends only dead letters, quarantined callbacks
 * and events pending longer than INDEX_PENDING_AFTER_SECONDS, and brings a row the index holds
 * up to date with an UPDATE that writes nothing when the row is not there; the cursor moves all
 * the same.
 *
 * The invariant (test/index-feed.test.ts checks it as a property, with D1 failing at random
 * steps): once D1 answers and the object's alarm has run to quiescence, the index holds one row
 * per event of the account, with the ledger's status, attempts, delivery time and `seq`.
 *
 * D1 is never on the path of a claim or a delivery: a failed batch is logged (warn, never a
 * payload), nothing is marked or moved, and the schedule wakes the object again after a back-off
 * (2 s doubling, up to 5 min); a sync during the back-off does nothing.
 */
import { type GatewayConfig, loadConfig } from "../config";
import { describeEvent } from "../index-db/describe";
import type { IndexMode } from "../index-db/mode";
import { type AccountState, type IndexEvent, indexStatements, type Statement } from "../index-db/write";
import { log } from "../log";
import { type Counts, count } from "../stats";
import { type Cursors, INDEX_STORE_EVERY } from "./cursors";
import type { ObjectIdentity } from "./identity";
import {
  type Attempt,
  backlog,
  bodyOf,
  consecutiveFailures,
  eventsWork,
  hasEventsWork,
  type LedgerRow,
  lastFailure,
  markIndexed,
} from "./index-rows";
import { type PartitionScan, type ScanMemory, scanPartitions } from "./index-scan";
import type { Partitions } from "./partitions";
import type { LedgerStorage } from "./storage";

/** Wait before retrying after a D1 failure: doubles per failure, up to the cap. */
const INDEX_RETRY = { baseMs: 2_000, capMs: 5 * 60_000 } as const;
/** Events per batch, and batches per sync (more: the object wakes again at once). */
const BATCH_ROWS = 100;
const BATCHES = 5;
/** The account's row is sent when it changed, or this long after it was last sent. */
const ACCOUNT_EVERY_MS = 60_000;
/** INDEX_MODE "all": rows claimed since the last sync are looked at no later than this after it. */
const LOOK_AGAIN_MS = 60_000;
/** A D1 batch that has not answered after this long counts as failed (it may still land: writes are idempotent). */
const D1_TIMEOUT_MS = 15_000;

interface Batch {
  readonly work: LedgerRow[];
  readonly scan: PartitionScan;
  readonly statements: Statement[];
  readonly account: AccountState | undefined;
  readonly accountKey: string | undefined;
}

const noop = () => undefined;

export class IndexFeed {
  /** Consecutive failed batches, and when the next may run (in memory: a new wake retries at once). */
  private failures = 0;
  /** Not private: a test clears it to stand for the wait passing (test/support/index-db.ts `backOffPassed`). */
  retryAt: number | undefined;
  /** The sync in progress, if any: syncs run one at a time, so D1 sees this object's writes in order. */
  private running: Promise<void> | undefined;
  /** What this isolate has sent of the time partitions (./index-scan.ts). */
  private memory: ScanMemory = { pendingThrough: 0, scannedThrough: 0 };
  /** The last sync stopped at its budget: more is to send at once. */
  private more = false;
  private lastSyncAt = 0;
  private sentAccount: { key: string; at: number } | undefined;
  private lastAttempt: Attempt | undefined;

  constructor(
    private readonly storage: LedgerStorage,
    private readonly identity: ObjectIdentity,
    private readonly cursors: Cursors,
    private readonly partitions: Partitions,
    private readonly env: () => Env,
  ) {}

  /** When the object must wake for the index: now, a retry after a failure, a look at rows claimed since; undefined if none. */
  wakeAt(now: number, config: GatewayConfig | undefined): number | undefined {
    if (this.identity.get() === undefined || config?.indexMode === "off") return undefined;
    if (this.more || hasEventsWork(this.storage)) return this.retryAt ?? now;
    if (this.retryAt !== undefined) return this.retryAt;
    const wakes: number[] = [];
    if (this.memory.youngAt !== undefined) wakes.push(this.memory.youngAt);
    if (this.partitions.highestSeq() > this.memory.scannedThrough) {
      const wait = config?.indexMode === "attention" ? config.indexPendingAfterSeconds * 1000 : LOOK_AGAIN_MS;
      wakes.push(this.lastSyncAt + wait);
    }
    return wakes.length === 0 ? undefined : Math.max(now, Math.min(...wakes));
  }

  /** A sync after an operator's action (redeliver, replay, re-process): its D1 rows go to the isolate's counters. */
  async afterAction(): Promise<void> {
    const loaded = loadConfig(this.env());
    const stats: Counts = {};
    await this.sync(stats, loaded.ok ? loaded.config : undefined);
    const source = this.identity.get()?.source;
    if (source !== undefined && stats.d1_rows_written !== undefined) count(source, "d1_rows_written", stats.d1_rows_written);
  }

  /** Runs a sync after any sync in progress. Never throws for D1: a failure is logged and retried later. */
  async sync(stats: Counts, config: GatewayConfig | undefined): Promise<void> {
    while (this.running !== undefined) await this.running.then(noop, noop);
    if (this.identity.get() === undefined || (this.retryAt !== undefined && Date.now() < this.retryAt)) return;
    // INDEX_MODE "off": nothing is sent and nothing moves, so turning it on again starts from here.
    if (config?.indexMode === "off") return;
    const pass = this.pass(stats, config?.indexMode ?? "all", (config?.indexPendingAfterSeconds ?? 900) * 1000);
    this.running = pass;
    try {
      await pass;
    } finally {
      this.running = undefined;
    }
  }

  private async pass(stats: Counts, mode: IndexMode, pendingAfterMs: number): Promise<void> {
    for (let n = 0; n < BATCHES; n++) {
      const now = Date.now();
      const batch = this.build(now, mode, pendingAfterMs);
      if (batch.statements.length > 0 && !(await this.send(batch, stats))) return;
      this.apply(batch, now);
      if (!this.more) break;
    }
    this.failures = 0;
    this.retryAt = undefined;
  }

  /** Reads what to send, in one synchronous block (a consistent view of the rows). */
  private build(now: number, mode: IndexMode, pendingAfterMs: number): Batch {
    const identity = this.identity.get()!;
    const work = eventsWork(this.storage, BATCH_ROWS);
    const scan = scanPartitions(this.storage, this.cursors, this.partitions, this.memory, {
      budget: BATCH_ROWS - work.length,
      now,
      pendingAfterMs: mode === "attention" ? pendingAfterMs : undefined,
    });
    const event = (row: LedgerRow): IndexEvent => ({
      id: row.id,
      source: row.source,
      account: identity.account,
      seq: row.seq,
      type: row.type,
      status: row.state,
      ...describeEvent(bodyOf(this.storage, row)),
      receivedAt: row.received_at,
      deliveredAt: row.delivered_at,
      attempts: row.attempts,
      lastStatus: row.last_status,
      nextAttemptAt: row.next_attempt_at,
      reason: row.reason,
    });
    // In "attention" mode only what needs an operator is inserted; a row of `events` an operator
    // put back is inserted whatever its age (it is off the common path, and may be in the index as dead).
    const attention = (row: LedgerRow) => row.state === "dead" || row.state === "quarantined" || row.state === "pending";
    const upserts: IndexEvent[] = [];
    const updates: IndexEvent[] = [];
    for (const row of work) (mode === "all" || attention(row) ? upserts : updates).push(event(row));
    for (const row of scan.settled) (mode === "all" ? upserts : updates).push(event(row));
    for (const row of scan.pending) upserts.push(event(row));
    const { account, key } = this.accountState(now, [...work, ...scan.settled], scan) ?? {};
    return { work, scan, statements: indexStatements(upserts, updates, account, now), account, accountKey: key };
  }

  /** The account's row, when it is due (changed, or ACCOUNT_EVERY_MS since it was sent); accounts only. */
  private accountState(now: number, rows: readonly LedgerRow[], scan: PartitionScan): { account: AccountState; key: string } | undefined {
    const identity = this.identity.get()!;
    const role = this.identity.role();
    if (role === "quarantine" || role === "stats" || (role === undefined && identity.account === "~quarantine")) return undefined;
    const queue = backlog(this.storage, this.cursors, this.partitions);
    const failures = queue.headSeq === undefined ? 0 : consecutiveFailures(this.storage, queue.headSeq);
    const seen: (Attempt | undefined)[] = [
      this.lastAttempt,
      queue.headSeq === undefined ? undefined : lastFailure(this.storage, queue.headSeq),
    ];
    for (const row of rows) {
      if (row.delivered_at !== null) seen.push({ at: row.delivered_at, status: row.last_status, error: null });
      else if (row.state === "dead") seen.push(lastFailure(this.storage, row.seq));
    }
    const last = seen.reduce<Attempt | undefined>((a, b) => (b !== undefined && (a === undefined || b.at > a.at) ? b : a), undefined);
    this.lastAttempt = last;
    const key = JSON.stringify([queue.pending, queue.oldestPendingAt, last?.status, last?.error, failures]);
    if (this.sentAccount !== undefined && this.sentAccount.key === key && now - this.sentAccount.at < ACCOUNT_EVERY_MS) return undefined;
    const account: AccountState = {
      ...identity,
      pending: queue.pending,
      oldestPendingAt: queue.oldestPendingAt,
      ...(last !== undefined && { lastAttempt: last }),
      consecutiveFailures: failures,
      lagMs: scan.oldestTakenAt === undefined ? null : Math.max(0, now - scan.oldestTakenAt),
    };
    return { account, key };
  }

  /** Sends a batch; false when D1 failed (logged, back-off set). */
  private async send(batch: Batch, stats: Counts): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const db = this.env().INDEX_DB;
      const statements = batch.statements.map((s) => db.prepare(s.query).bind(...s.params));
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer from D1 within ${D1_TIMEOUT_MS} ms`)), D1_TIMEOUT_MS);
      });
      const results = await Promise.race([db.batch(statements), timeout]);
      stats.d1_rows_written = (stats.d1_rows_written ?? 0) + results.reduce((sum, r) => sum + (r.meta.rows_written ?? 0), 0);
      return true;
    } catch (err) {
      this.failed(err);
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** D1 took the batch: marks the rows of `events`, moves the cursor, remembers what was sent. */
  private apply(batch: Batch, now: number): void {
    markIndexed(this.storage, batch.work);
    const { scan } = batch;
    if (scan.cursor > this.cursors.get("index_after")) this.cursors.set("index_after", scan.cursor, INDEX_STORE_EVERY);
    this.memory = scan.memory;
    this.more = batch.work.length === BATCH_ROWS || scan.more;
    this.lastSyncAt = now;
    if (batch.accountKey !== undefined) this.sentAccount = { key: batch.accountKey, at: now };
  }

  /** A D1 call failed: nothing was marked or moved; the next sync waits out the back-off. */
  private failed(err: unknown): void {
    this.failures += 1;
    const wait = Math.min(INDEX_RETRY.capMs, INDEX_RETRY.baseMs * 2 ** Math.min(20, this.failures - 1));
    this.retryAt = Date.now() + wait;
    const identity = this.identity.get();
    log("index_feed", {
      level: "warn",
      source: identity?.source,
      account: identity?.account,
      failures: this.failures,
      retryInMs: wait,
      error: err instanceof Error ? err.name : "Error",
      message: (err instanceof Error ? err.message : String(err)).slice(0, 200),
    });
  }
}
