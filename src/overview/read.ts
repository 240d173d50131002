/**
 * The console's overview and rejected-requests reads, from D1: counts per source per 5-minute
 * bucket (written by ./series.ts), delivery latency from the index's `events` rows, and the
 * recent rejections (src/rejections.ts). Each read is one D1 batch.
 */
import { BUCKET_MS, bucketOf } from "./series";

/** The overview's counters, in the order the console charts them. */
export const OVERVIEW_FIELDS = ["accepted", "duplicate", "rejected", "quarantined", "delivered", "failed", "dead"] as const;
export type OverviewPoint = { at: number } & Record<(typeof OVERVIEW_FIELDS)[number], number>;

/** Counter → overview field: every 4xx answer to a configured source is `rejected`. */
const FIELD_OF: Readonly<Record<string, (typeof OVERVIEW_FIELDS)[number]>> = {
  accepted: "accepted",
  duplicate: "duplicate",
  rejected: "rejected",
  replayed: "rejected",
  forbidden: "rejected",
  too_large: "rejected",
  quarantined: "quarantined",
  delivered: "delivered",
  failed: "failed",
  dead: "dead",
};

/** Latency is read from at most this many of the window's newest delivered events per source. */
export const LATENCY_SAMPLE = 10_000;

/**
 * p50 and p95 by nearest rank (the value at rank ⌈p·n/100⌉ of the sorted sample) of
 * delivered_at − received_at, over the source's newest delivered events received in the window.
 * The sample is read along `events_by_time` from now backwards and stops at LATENCY_SAMPLE rows.
 */
const LATENCY_SQL = `WITH sample AS (
  SELECT delivered_at - received_at AS ms FROM events
  WHERE received_at >= ?1 AND received_at <= ?2 AND source = ?3 AND status = 'delivered' AND delivered_at IS NOT NULL
  ORDER BY received_at DESC LIMIT ${LATENCY_SAMPLE}
), n AS (SELECT COUNT(*) AS n FROM sample)
SELECT (SELECT n FROM n) AS n,
  (SELECT ms FROM sample ORDER BY ms LIMIT 1 OFFSET (SELECT (n * 50 + 99) / 100 - 1 FROM n)) AS p50,
  (SELECT ms FROM sample ORDER BY ms LIMIT 1 OFFSET (SELECT (n * 95 + 99) / 100 - 1 FROM n)) AS p95`;

export interface OverviewQuery {
  readonly sources: readonly string[];
  readonly since: number;
  readonly now: number;
  /** False when the index holds no delivered rows (INDEX_MODE=attention): latency is null. */
  readonly latency: boolean;
}

export interface SourceOverview {
  series: OverviewPoint[];
  latencyMs: { p50: number; p95: number } | null;
}

export async function readOverview(db: D1Database, query: OverviewQuery): Promise<Record<string, SourceOverview>> {
  const first = bucketOf(query.since);
  const last = bucketOf(query.now);
  // By source: each statement reads a range of the primary key (source, bucket, name).
  const statements = query.sources.flatMap((source) => [
    db.prepare("SELECT bucket, name, value FROM counts WHERE source = ?1 AND bucket >= ?2 AND bucket <= ?3").bind(source, first, last),
    ...(query.latency ? [db.prepare(LATENCY_SQL).bind(query.since, query.now, source)] : []),
  ]);
  const results = statements.length === 0 ? [] : await db.batch(statements);
  const step = query.latency ? 2 : 1;
  const out: Record<string, SourceOverview> = {};
  query.sources.forEach((source, i) => {
    const series: OverviewPoint[] = [];
    for (let at = first; at <= last; at += BUCKET_MS) {
      series.push({ at, accepted: 0, duplicate: 0, rejected: 0, quarantined: 0, delivered: 0, failed: 0, dead: 0 });
    }
    for (const row of results[i * step]!.results as { bucket: number; name: string; value: number }[]) {
      const field = FIELD_OF[row.name];
      const point = series[(row.bucket - first) / BUCKET_MS];
      if (field !== undefined && point !== undefined) point[field] += row.value;
    }
    const latency = query.latency
      ? (results[i * step + 1]!.results[0] as { n: number; p50: number | null; p95: number | null })
      : undefined;
    out[source] = {
      series,
      latencyMs:
        latency === undefined || latency.n === 0 || latency.p50 === null || latency.p95 === null
          ? null
          : { p50: latency.p50, p95: latency.p95 },
    };
  });
  return out;
}

export interface RejectionRow {
  source: string;
  at: number;
  status: number;
  cause: string;
  bytes: number | null;
  ip: string | null;
  count: number;
}

/** The newest rejections first, of one source (along `rejections_by_source`) or of all. */
export async function readRejections(db: D1Database, source: string | undefined, limit: number): Promise<RejectionRow[]> {
  const columns = "source, at, status, cause, bytes, ip, count";
  const statement =
    source === undefined
      ? db.prepare(`SELECT ${columns} FROM rejections ORDER BY at DESC, rowid DESC LIMIT ?1`).bind(limit)
      : db.prepare(`SELECT ${columns} FROM rejections WHERE source = ?1 ORDER BY at DESC, rowid DESC LIMIT ?2`).bind(source, limit);
  return (await statement.all<RejectionRow>()).results;
}
