/**
 * Rejected requests, for the console: each 4xx answer to a request that did not verify (or
 * replayed a signed nonce) is noted with its source, time, status, cause, size and client IP,
 * never a byte of its body. Whoever sends those requests picks their volume, so noting one
 * stays off the request path and cheap: an entry appended to this isolate's memory, at most
 * REJECTIONS_PER_FLUSH per source per flush window (the rest counted, per cause, in one summary
 * row each), and the buffer written to D1 `rejections` in one batch at most every
 * STATS_FLUSH_MS, in `waitUntil`. A forged request never costs a D1 call of its own. The table's
 * size is bounded by retention (./overview/retention.ts); the counters count every request.
 */
import { loadConfig } from "./config";
import { log } from "./log";
import { checkRejections } from "./ops";
import type { VerifyFailure } from "./verify/types";

/** Why a request was refused: a stable code, shown to operators and stored. */
export type RejectionCause =
  | "unknown_source" // 404: no configured source has the path's name
  | "method_not_allowed" // 405: not a POST
  | "ip_not_allowed" // 403: the sender's address is not in the source's ipAllowList
  | "too_large" // 413: the body is over MAX_BODY_BYTES
  | VerifyFailure // 401: missing_signature, malformed_signature, bad_signature, stale_timestamp, no_secret
  | "replayed"; // 401: a signed nonce seen before (Cabital)

export interface Rejection {
  /** The configured source, or the path's segment as sent (cut to 100 characters). */
  readonly source: string;
  readonly at: number;
  readonly status: number;
  readonly cause: RejectionCause;
  /** Content-Length, else the bytes read; null when neither is known. */
  readonly bytes: number | null;
  /** CF-Connecting-IP, as the edge set it. */
  readonly ip: string | null;
}

/** Entries kept per source (all unknown sources together) per flush window. */
export const REJECTIONS_PER_FLUSH = 50;
const MAX_SOURCE_CHARS = 100;
/** 7 values a row, at most 100 bound values a D1 statement. */
const ROWS_PER_STATEMENT = 14;
/** The longest IPv6 text is 45 characters; anything longer is not an address. */
const MAX_IP_CHARS = 45;

/** A left-out request count of one source and cause in the window; its row names the first source seen. */
interface Summary {
  source: string;
  at: number;
  status: number;
  cause: RejectionCause;
  count: number;
}

let entries: Rejection[] = [];
/** Bound key → entries kept this window. Keys are configured names or one fixed key: bounded. */
let kept = new Map<string, number>();
/** `${bound key}\n${cause}` → what was left out this window. */
let summaries = new Map<string, Summary>();
let lastFlush = 0;
let flushArmed = false;

/** Unknown sources are one key: their names come from the request, so they must not grow the maps. */
const UNKNOWN_KEY = "\n";

/** Reads the size and address from the request's headers; the body is never touched here. */
export function rejectionOf(
  request: Request,
  source: string,
  status: number,
  cause: RejectionCause,
  now: number,
  bytesRead?: number,
): Rejection {
  const declared = request.headers.get("content-length");
  const length = declared === null || !/^\d{1,15}$/.test(declared) ? null : Number(declared);
  const ip = request.headers.get("cf-connecting-ip");
  return {
    source: source.slice(0, MAX_SOURCE_CHARS),
    at: now,
    status,
    cause,
    bytes: length ?? bytesRead ?? null,
    ip: ip === null ? null : ip.slice(0, MAX_IP_CHARS),
  };
}

/**
 * Notes a rejection and, when the window is over, flushes in the background (`waitUntil`). A
 * window that is not over gets one delayed flush at its end, so a quiet isolate still writes
 * what it holds within STATS_FLUSH_MS.
 */
export function recordRejection(env: Env, ctx: ExecutionContext, intervalMs: number, rejection: Rejection): void {
  const key = rejection.cause === "unknown_source" ? UNKNOWN_KEY : rejection.source;
  const n = kept.get(key) ?? 0;
  if (n < REJECTIONS_PER_FLUSH) {
    kept.set(key, n + 1);
    entries.push(rejection);
  } else {
    const id = `${key}\n${rejection.cause}`;
    const summary = summaries.get(id);
    if (summary === undefined) summaries.set(id, { ...rejection, count: 1 });
    else {
      summary.count++;
      summary.at = rejection.at;
    }
  }
  const dueIn = lastFlush + intervalMs - rejection.at;
  if (dueIn <= 0) ctx.waitUntil(flushAndCheck(env, rejection.at));
  else if (!flushArmed) {
    flushArmed = true;
    ctx.waitUntil(
      scheduler.wait(dueIn).then(() => {
        flushArmed = false;
        return flushAndCheck(env, Date.now());
      }),
    );
  }
}

/**
 * Flushes, then checks the configured sources it wrote for `gateway.source.rejections_high`
 * (src/ops/rejections-high.ts): one D1 query per flush, so the event follows the threshold by
 * about STATS_FLUSH_MS. Never throws.
 */
async function flushAndCheck(env: Env, now: number): Promise<void> {
  const sources = await flushRejections(env.INDEX_DB, now);
  const loaded = loadConfig(env);
  if (sources.length === 0 || !loaded.ok || loaded.config.ops === undefined) return;
  try {
    await checkRejections(env, loaded.config, now, { sources, end: false });
  } catch (err) {
    // The cron checks every source again within 15 minutes.
    log("ops_rejections_check", { level: "warn", error: err instanceof Error ? err.name : "Error" });
  }
}

/**
 * Writes what the window holds in one batch and opens the next window. Returns the sources it
 * wrote rows of (configured ones: unknown sources' rows are left out); none when the write
 * failed. Never throws.
 */
export async function flushRejections(db: D1Database, now: number): Promise<string[]> {
  lastFlush = now;
  const rows = [...entries.map((r) => ({ ...r, count: 1 })), ...[...summaries.values()].map((s) => ({ ...s, bytes: null, ip: null }))];
  entries = [];
  kept = new Map();
  summaries = new Map();
  if (rows.length === 0) return [];
  // Several rows per statement (D1 binds at most 100 values per statement), all in one batch.
  // Prepared inside the `try` too: a binding that throws there is a D1 failure like any other.
  try {
    const statements: D1PreparedStatement[] = [];
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
      statements.push(
        db
          .prepare(
            `INSERT INTO rejections (source, at, status, cause, bytes, ip, count) VALUES ${chunk.map(() => "(?, ?, ?, ?, ?, ?, ?)").join(", ")}`,
          )
          .bind(...chunk.flatMap((r) => [r.source, r.at, r.status, r.cause, r.bytes, r.ip, r.count])),
      );
    }
    await db.batch(statements);
    return [...new Set(rows.filter((r) => r.cause !== "unknown_source").map((r) => r.source))];
  } catch (err) {
    // Diagnostics, bounded: the next window records what comes next, and the counters hold
    // the complete count. What this window held is dropped, and said so.
    log("rejections_flush", {
      level: "warn",
      dropped: rows.reduce((sum, r) => sum + r.count, 0),
      error: err instanceof Error ? err.name : "Error",
      message: (err instanceof Error ? err.message : String(err)).slice(0, 300),
    });
    return [];
  }
}

/** Forgets the buffer and the flush clock (tests, which share one isolate). */
export function forgetRejections(): void {
  entries = [];
  kept = new Map();
  summaries = new Map();
  lastFlush = 0;
  flushArmed = false;
}
