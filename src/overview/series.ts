/**
 * Counts over time for the console's overview: the outcome counters (src/stats.ts) are also kept
 * per source and 5-minute bucket, by the time they were counted, and the isolate's counters
 * flush adds them to D1 `counts` in one batch (upsert adding). Best effort: a D1 failure is
 * logged at warn and the deltas wait for the next flush, bounded in memory; the Durable Object
 * counters never wait for D1. The counters stay the exact record; the series are for charts.
 */
import { log } from "../log";

export const BUCKET_MS = 300_000;

/**
 * The counters charted over time: outcomes, never the billable operations (a row written per
 * flush each would cost more than it tells). The overview's `rejected` is the sum of the 4xx
 * outcomes of a configured source (src/overview/read.ts).
 */
export const SERIES_COUNTERS = [
  "accepted",
  "duplicate",
  "rejected",
  "replayed",
  "forbidden",
  "too_large",
  "quarantined",
  "delivered",
  "failed",
  "dead",
] as const;
const charted: ReadonlySet<string> = new Set(SERIES_COUNTERS);

/**
 * How many (source, bucket) entries an isolate keeps while D1 fails: a day of buckets for one
 * source. Past it the oldest go first: recent activity is what an operator looks at.
 */
export const MAX_HELD_BUCKETS = 288;

/** One (source, bucket) entry: counter name → delta. */
export interface SeriesDelta {
  readonly source: string;
  readonly bucket: number;
  readonly counts: Record<string, number>;
}

/** `${bucket}\n${source}` → deltas not yet in D1 (the key sorts by bucket first, oldest first). */
const held = new Map<string, SeriesDelta>();

export const bucketOf = (ms: number) => Math.floor(ms / BUCKET_MS) * BUCKET_MS;

/** Adds a counted outcome to its source's current bucket; other counters are not charted. */
export function noteSeries(source: string, counter: string, by: number, now: number): void {
  if (!charted.has(counter)) return;
  add(source, bucketOf(now), counter, by);
}

function add(source: string, bucket: number, counter: string, by: number): void {
  const key = `${bucket}\n${source}`;
  let entry = held.get(key);
  if (entry === undefined) {
    entry = { source, bucket, counts: {} };
    held.set(key, entry);
  }
  entry.counts[counter] = (entry.counts[counter] ?? 0) + by;
}

/**
 * When this isolate's batch on its way to D1 was sent (undefined: none). A batch whose request
 * ended before D1 answered never settles here: past STUCK_MS it no longer holds the next one up.
 */
let writingSince: number | undefined;
const STUCK_MS = 60_000;

/**
 * Sends what is held to D1, unless a batch is still on its way: then the deltas wait for the
 * next flush (bounded as after a failure), so a slow D1 never has more than one batch of an
 * isolate's in flight. Each batch is sent from the flush that takes it, never chained onto
 * another request's. Never throws.
 */
export async function flushSeries(db: D1Database, now: number): Promise<void> {
  if (held.size === 0) return;
  if (writingSince !== undefined && now - writingSince < STUCK_MS) {
    dropOldest();
    return;
  }
  const since = now;
  writingSince = since;
  const taken = [...held.values()];
  held.clear();
  try {
    await writeSeries(db, taken);
  } finally {
    if (writingSince === since) writingSince = undefined;
  }
}

/** At most 100 bound parameters per D1 statement: 25 rows of 4. */
const ROWS_PER_STATEMENT = 25;

/**
 * Adds the deltas to D1 `counts` in one batch. Never throws: on failure the deltas go back to
 * memory (the oldest dropped past MAX_HELD_BUCKETS) and the flush after tries again.
 */
async function writeSeries(db: D1Database, deltas: readonly SeriesDelta[]): Promise<void> {
  const rows = deltas.flatMap((d) => Object.entries(d.counts).map(([name, value]) => [d.source, d.bucket, name, value] as const));
  if (rows.length === 0) return;
  // Prepared inside the `try` too: a binding that throws there (not only at `batch`) is a D1
  // failure like any other, and must not fail the alarm run or the request that flushes.
  try {
    const statements: D1PreparedStatement[] = [];
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
      statements.push(
        db
          .prepare(
            `INSERT INTO counts (source, bucket, name, value) VALUES ${chunk.map(() => "(?, ?, ?, ?)").join(", ")}
           ON CONFLICT (source, bucket, name) DO UPDATE SET value = value + excluded.value`,
          )
          .bind(...chunk.flat()),
      );
    }
    await db.batch(statements);
  } catch (err) {
    for (const d of deltas) for (const [name, value] of Object.entries(d.counts)) add(d.source, d.bucket, name, value);
    const dropped = dropOldest();
    log("counts_flush", {
      level: "warn",
      kept: held.size,
      ...(dropped > 0 && { dropped }),
      error: err instanceof Error ? err.name : "Error",
      message: (err instanceof Error ? err.message : String(err)).slice(0, 300),
    });
  }
}

/** Drops the oldest held entries past the bound; returns how many went. */
function dropOldest(): number {
  if (held.size <= MAX_HELD_BUCKETS) return 0;
  const keys = [...held.keys()].sort((a, b) => Number(a.split("\n", 1)[0]) - Number(b.split("\n", 1)[0]));
  const excess = keys.slice(0, held.size - MAX_HELD_BUCKETS);
  for (const key of excess) held.delete(key);
  return excess.length;
}
