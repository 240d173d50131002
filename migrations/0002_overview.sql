-- The console's overview and rejected-requests views (docs/console.md).

-- Per-source counters per 5-minute bucket, added to by each isolate's counters flush.
CREATE TABLE counts (
  source TEXT    NOT NULL,
  bucket INTEGER NOT NULL,  -- Unix ms at the start of the bucket
  name   TEXT    NOT NULL,
  value  INTEGER NOT NULL,
  PRIMARY KEY (source, bucket, name)
) WITHOUT ROWID;

-- Recent 4xx answers to unverified requests: cause, size, client IP. Never a byte of the body.
-- Kept bounded in count per source and in age.
CREATE TABLE rejections (
  source TEXT    NOT NULL,  -- the path's source segment as sent (cut short)
  at     INTEGER NOT NULL,  -- Unix ms
  status INTEGER NOT NULL,
  cause  TEXT    NOT NULL,  -- unknown_source | bad_signature | stale_timestamp | ip_not_allowed | malformed | too_large | ...
  bytes  INTEGER,
  ip     TEXT
);
CREATE INDEX rejections_by_source ON rejections (source, at);
