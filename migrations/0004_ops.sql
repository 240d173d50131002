-- Operational events (docs/ops-events.md): the conditions that raise one when they start,
-- `gateway.source.rejections_high` and `gateway.backlog.stale`. A row is one episode of a
-- condition: inserted when a check first finds it true, deleted when a check finds it over, so
-- each episode raises one event (its key names the episode by `started_at`) and a new episode
-- after it raises another. Rows are bounded by the sources and accounts in the condition now.
CREATE TABLE ops_conditions (
  kind        TEXT    NOT NULL,  -- rejections_high | backlog_stale
  source      TEXT    NOT NULL,
  account     TEXT    NOT NULL,  -- '' for a condition of a whole source
  started_at  INTEGER NOT NULL,  -- Unix ms: when a check first found it
  notified_at INTEGER,           -- when its event was stored for the operations webhook; null: not yet (the next check tries again, same key)
  PRIMARY KEY (kind, source, account)
) WITHOUT ROWID;
