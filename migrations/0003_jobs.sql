-- The recent bulk jobs (src/jobs/registry.ts), for GET /admin/jobs: one row per job, its last
-- reported progress as the Job JSON the API answers. Each job's own Durable Object is the
-- authority (GET /admin/jobs/{id} asks it); this list is rewritten by the job after each step
-- and trimmed to JOBS_KEPT_DAYS when a job starts.
CREATE TABLE jobs (
  id         TEXT    PRIMARY KEY,  -- the job's UUID
  created_at INTEGER NOT NULL,     -- Unix ms
  job        TEXT    NOT NULL      -- the Job as GET /admin/jobs/{id} answers it (JSON)
) WITHOUT ROWID;
CREATE INDEX jobs_by_time ON jobs (created_at);
