/**
 * What a bulk job does in one alarm run (src/jobs/BulkJob.ts), bounded in events and time:
 *
 * 1. select: pages through the operators' index (src/index-db/filter.ts `listIndexed`, keyset
 *    paging) with the job's filter narrowed to events received before the job was created, so
 *    new events never join it, and stores each page in its selection with the cursor of the next
 *    (a page read twice adds nothing). At the end `total` is the exact number selected.
 * 2. redeliver: takes the selected events in (source, account, seq) order, each account's oldest
 *    first, and asks each one's account ledger to redeliver it with the guard
 *    `{ unlessTouchedSince: createdAt }` (src/ledger/redeliver-guard.ts). "queued" counts as
 *    done; any other answer (pending already, touched since, erased, body past retention,
 *    gone) as skipped; a ledger error as failed, logged, and the job goes on. The job's state is
 *    read before each event, so a cancel stops it at the next one.
 */

import { type IndexFilter, listIndexed } from "../index-db/filter";
import type { RedeliverGuard } from "../ledger/redeliver-guard";
import { log } from "../log";
import { storageFailure } from "../platform-errors";
import type { JobRow, JobStore, Outcome, Selected } from "./store";

/** Bounds of one run; the job's object may lower them (tests step a job one event at a time). */
export interface RunLimits {
  /** Events handled per run at most. */
  eventsPerRun: number;
  /** Index rows read per select page. */
  selectPage: number;
  /** Wall time a run may start new work for. */
  budgetMs: number;
}

export const RUN_LIMITS: RunLimits = { eventsPerRun: 50, selectPage: 500, budgetMs: 10_000 };

/** Index reads that failed in a row: retried after 2 s doubling to 5 min; after this many the job fails. */
const SELECT_RETRY = { baseMs: 2_000, capMs: 300_000, maxFailures: 10 } as const;

/** Index statuses no account ledger can redeliver (quarantined callbacks go out by re-processing). */
const NOT_REDELIVERABLE = new Set(["quarantined", "reprocessed"]);

export interface Ledgers {
  redeliver(source: string, account: string, id: string, guard: RedeliverGuard): Promise<string>;
}

export interface RunContext {
  readonly store: JobStore;
  readonly db: D1Database;
  readonly ledgers: Ledgers;
  readonly limits: RunLimits;
}

/** Does one run's work. Returns true while the job has more to do (the caller wakes it again). */
export async function runJob(context: RunContext): Promise<boolean> {
  const started = Date.now();
  const job = context.store.get();
  if (job === undefined || job.state !== "running") return false;
  if (job.phase === "select") {
    const selecting = await select(context, job, started);
    if (selecting !== "selected") return selecting === "more";
  }
  return redeliver(context, started);
}

async function select(context: RunContext, first: JobRow, started: number): Promise<"selected" | "more" | "failed"> {
  const { store, limits } = context;
  const filter = JSON.parse(first.selection) as IndexFilter;
  for (let job = first; Date.now() - started < limits.budgetMs; job = store.get()!) {
    let page: Awaited<ReturnType<typeof listIndexed>>;
    try {
      page = await listIndexed(context.db, filter, job.select_cursor ?? undefined, limits.selectPage);
    } catch (err) {
      return selectFailed(context, job, err);
    }
    const rows: Selected[] = page.rows.map((row) => ({
      source: row.source,
      account: row.account,
      seq: row.seq,
      id: row.id,
      status: row.status,
    }));
    store.addPage(rows, page.next ?? null, Date.now());
    if (page.next === undefined) {
      store.update({ phase: "redeliver", total: store.selected(), failures: 0 }, Date.now());
      return "selected";
    }
  }
  return "more";
}

/** An index read failed: retried later (the caller's alarm), or, after too many in a row, the job fails. */
function selectFailed(context: RunContext, job: JobRow, err: unknown): "more" | "failed" {
  const failures = job.failures + 1;
  const failure = storageFailure(err);
  log("bulk_job", { level: "warn", jobId: job.id, step: "select", failures, ...failure.fields });
  if (failures >= SELECT_RETRY.maxFailures) {
    context.store.update(
      { state: "failed", failures, error: `the index could not be read (${failure.fields.message ?? "error"})` },
      Date.now(),
    );
    return "failed";
  }
  context.store.update({ failures }, Date.now());
  return "more";
}

/** When a job whose index reads are failing should try again. */
export function selectRetryAt(failures: number, now: number): number {
  return failures === 0 ? now : now + Math.min(SELECT_RETRY.capMs, SELECT_RETRY.baseMs * 2 ** Math.min(20, failures - 1));
}

async function redeliver(context: RunContext, started: number): Promise<boolean> {
  const { store, limits } = context;
  for (let n = 0; n < limits.eventsPerRun && Date.now() - started < limits.budgetMs; n++) {
    // Read before each event: a cancel during the last ledger call stops the job here.
    const job = store.get();
    if (job === undefined || job.state !== "running") return false;
    const event = store.next(job);
    if (event === undefined) {
      store.finish(Date.now());
      log("bulk_job", { jobId: job.id, state: "done", total: job.total, done: job.done, skipped: job.skipped, failed: job.failed });
      return false;
    }
    store.handled(event, await redeliverOne(context, job, event), Date.now());
  }
  return true;
}

async function redeliverOne(context: RunContext, job: JobRow, event: Selected): Promise<Outcome> {
  if (NOT_REDELIVERABLE.has(event.status)) return "skipped";
  const status = (JSON.parse(job.selection) as IndexFilter).status;
  const guard: RedeliverGuard = { unlessTouchedSince: job.created_at, ...(status !== undefined && { state: status }) };
  try {
    return (await context.ledgers.redeliver(event.source, event.account, event.id, guard)) === "queued" ? "done" : "skipped";
  } catch (err) {
    // Counted as failed and left for an operator (the event stays as it was); the job goes on.
    const failure = storageFailure(err);
    log("bulk_job", {
      level: failure.level,
      jobId: job.id,
      step: "redeliver",
      eventId: event.id,
      source: event.source,
      account: event.account,
      ...failure.fields,
    });
    return "failed";
  }
}
