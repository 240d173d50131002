/**
 * A bulk job's Durable Object (binding JOBS, one object per job, named by its id): it runs the
 * job in its alarm (./run.ts), bounded work per run, and keeps its state and cursor in its own
 * SQLite (./store.ts), so a run that dies is resumed by the next from the stored cursor, and its
 * repeated ledger call for the last event is a "skipped" (src/ledger/redeliver-guard.ts).
 * docs/operations.md "Bulk redeliver"; docs/guarantees.md "Bulk jobs".
 */
import { DurableObject } from "cloudflare:workers";
import type { Job } from "../admin-api/jobs";
import type { IndexFilter } from "../index-db/filter";
import { LedgerStorage } from "../ledger/storage";
import { log } from "../log";
import { accountLedger } from "../object-names";
import { isoTime } from "../time";
import { recordJob } from "./registry";
import { RUN_LIMITS, type RunLimits, runJob, selectRetryAt } from "./run";
import { type JobRow, JobStore } from "./store";

/** What POST /admin/jobs starts a job with (src/admin/jobs.ts). */
export interface JobSpec {
  readonly id: string;
  readonly kind: Job["kind"];
  /** The filter as the operator gave it, shown in the job. */
  readonly filter: Job["filter"];
  /** The same filter as the index reads it, narrowed to events received before `createdAt`. */
  readonly selection: IndexFilter;
  /** The count the operator confirmed: the job's total until its selection is complete. */
  readonly expected: number;
  readonly createdBy: string;
  readonly createdAt: number;
}

/** A job as the API answers it. */
export function presentJob(row: JobRow): Job {
  return {
    id: row.id,
    kind: row.kind as Job["kind"],
    filter: JSON.parse(row.filter) as Job["filter"],
    state: row.state,
    total: row.total,
    done: row.done,
    skipped: row.skipped,
    failed: row.failed,
    createdBy: row.created_by,
    createdAt: isoTime(row.created_at),
    updatedAt: isoTime(row.updated_at),
    ...(row.error !== null && { error: row.error }),
  };
}

export class BulkJob extends DurableObject<Env> {
  private readonly gate: LedgerStorage;
  private readonly store: JobStore;
  /** One run at a time (a forced run while the runtime's is on has nothing to add). */
  private running = false;
  /** The bounds of a run. Tests lower `eventsPerRun` to step a job one event at a time. */
  limits: RunLimits = { ...RUN_LIMITS };
  /** How long after a run that left work the next one starts. Tests raise it, then run each alarm themselves. */
  continueAfterMs = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.gate = new LedgerStorage(ctx.storage);
    this.store = new JobStore(this.gate);
  }

  /** Starts the job (once: a second call answers the job as it is). Its first run comes from the alarm. */
  async start(spec: JobSpec): Promise<Job> {
    if (this.store.get() === undefined) {
      this.store.create({
        id: spec.id,
        kind: spec.kind,
        filter: JSON.stringify(spec.filter),
        selection: JSON.stringify(spec.selection),
        total: spec.expected,
        created_by: spec.createdBy,
        created_at: spec.createdAt,
      });
      await this.gate.wakeBy(Date.now() + this.continueAfterMs);
      log("bulk_job", { jobId: spec.id, kind: spec.kind, state: "running", createdBy: spec.createdBy, expected: spec.expected });
      await recordJob(this.env.INDEX_DB, this.current()!, Date.now(), true);
    }
    return this.current()!;
  }

  /** The job, or undefined if no job has this object's name. */
  async job(): Promise<Job | undefined> {
    return this.current();
  }

  /** Cancels a running job: it stops before its next event. A finished job is answered as it is. */
  async cancel(by: string): Promise<Job | undefined> {
    const row = this.store.get();
    if (row?.state === "running") {
      this.store.update({ state: "cancelled" }, Date.now());
      log("bulk_job", { jobId: row.id, state: "cancelled", by, done: row.done, skipped: row.skipped, failed: row.failed });
      await recordJob(this.env.INDEX_DB, this.current()!, Date.now());
    }
    return this.current();
  }

  override async alarm(): Promise<void> {
    this.gate.alarmFired();
    if (this.running) return;
    this.running = true;
    try {
      const more = await runJob({
        store: this.store,
        db: this.env.INDEX_DB,
        ledgers: { redeliver: (source, account, id, guard) => accountLedger(this.env, source, account).redeliver(id, guard) },
        limits: this.limits,
      });
      const row = this.store.get();
      if (more && row !== undefined)
        await this.gate.wakeBy(Math.max(selectRetryAt(row.failures, Date.now()), Date.now() + this.continueAfterMs));
    } finally {
      this.running = false;
    }
    const job = this.current();
    if (job !== undefined) await recordJob(this.env.INDEX_DB, job, Date.now());
  }

  private current(): Job | undefined {
    const row = this.store.get();
    return row === undefined ? undefined : presentJob(row);
  }
}
