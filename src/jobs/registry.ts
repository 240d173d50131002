/**
 * The list of recent bulk jobs, in the operators' D1 database (table `jobs`,
 * migrations/0003_jobs.sql), for GET /admin/jobs. Each job's own Durable Object is the
 * authority on it; it writes its row here when it starts and after each step, best effort: a
 * failed write is logged and the next step writes again, and a job never waits on D1 to go on.
 *
 * Why D1 rather than a registry Durable Object: the console already reads the index from D1, a
 * list is one query there (no fan-out to each job's object), and a single registry object would
 * be one more object on every job's path that all jobs contend for.
 */
import type { Job } from "../admin-api/jobs";
import { log } from "../log";

/** Jobs listed at most, newest first. */
export const JOBS_LISTED = 50;
/** Rows older than this are deleted when a job starts. */
export const JOBS_KEPT_DAYS = 90;

/** Writes (or rewrites) a job's row. Never throws: a failure is logged at warn. */
export async function recordJob(db: D1Database, job: Job, now: number, trim = false): Promise<void> {
  try {
    const upsert = db
      .prepare("INSERT INTO jobs (id, created_at, job) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET job = excluded.job")
      .bind(job.id, Date.parse(job.createdAt), JSON.stringify(job));
    const old = db.prepare("DELETE FROM jobs WHERE created_at < ?").bind(now - JOBS_KEPT_DAYS * 86_400_000);
    await db.batch(trim ? [upsert, old] : [upsert]);
  } catch (err) {
    log("job_registry", {
      level: "warn",
      jobId: job.id,
      error: err instanceof Error ? err.name : "Error",
      message: (err instanceof Error ? err.message : String(err)).slice(0, 300),
    });
  }
}

/**
 * Whether a job with this id was started (its row is written when it starts): the admin routes
 * ask before they touch a job's object, since addressing an object by a name creates it.
 */
export async function jobKnown(db: D1Database, id: string): Promise<boolean> {
  return (await db.prepare("SELECT 1 AS known FROM jobs WHERE id = ?").bind(id).first()) !== null;
}

/** The most recent jobs, newest first, as last reported. */
export async function recentJobs(db: D1Database): Promise<Job[]> {
  const { results } = await db.prepare("SELECT job FROM jobs ORDER BY created_at DESC LIMIT ?").bind(JOBS_LISTED).all<{ job: string }>();
  return results.map((row) => JSON.parse(row.job) as Job);
}
