-- The console's overview and rejected-requests views (docs/console.md).

-- Per-source counters per 5-minute bucket, added to by each isolate's counters flush.
CREATE TABLE counts (
  source TEXT    NOT NULL,
  bucket INTEGER NOT NULL,  -- Unix ms at the start of the bucket
  name   TEXT    NOT NULL,
  value  INTEGER NOT NULL,
  PRIMARY KEY (source, bucket, name)
) WITHOUT ROWID;

-- Recent 4xx answers to requests that did not verify (src/rejections.ts): cause, size, client
-- IP. Never a byte of the body. Kept bounded in count per source and in age
-- (src/overview/retention.ts).
CREATE TABLE rejections (
  source TEXT    NOT NULL,  -- the configured source, or the path's segment as sent (cut to 100 characters)
  at     INTEGER NOT NULL,  -- Unix ms (a summary row: its last request)
  status INTEGER NOT NULL,
  cause  TEXT    NOT NULL,  -- unknown_source | method_not_allowed | ip_not_allowed | too_large | missing_signature
                            -- | malformed_signature | bad_signature | stale_timestamp | no_secret | replayed
  bytes  INTEGER,           -- Content-Length or the bytes read; null when unknown, and on a summary row
  ip     TEXT,              -- CF-Connecting-IP; null on a summary row
  count  INTEGER NOT NULL DEFAULT 1 -- 1, or on a summary row the requests of this source and cause left out of one flush window
);
CREATE INDEX rejections_by_source ON rejections (source, at);
