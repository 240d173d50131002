/**
 * Schemas of the operator API's other routes: health, counters, the overview and rejected
 * requests, the accounts' backlog and origin health, the operators' index state, and the console
 * session.
 */
import * as v from "valibot";
import { limitQuery, SourceName, TIME_INPUT, Timestamp, text, timeQuery } from "./common";

const count = v.pipe(v.number(), v.integer(), v.minValue(0));
const Counters = v.pipe(v.record(v.string(), v.number()), v.description("Counter name → value; a counter appears once non-zero."));

export const Health = v.object({
  status: v.picklist(["ok", "invalid_config"]),
  admin: v.literal("enabled"),
  sources: v.optional(v.record(v.string(), v.object({ provider: v.string(), secrets: count }))),
  errors: v.optional(v.pipe(v.array(v.string()), v.description("Each configuration error, naming the field; never a secret."))),
});

export const AllCounters = v.object({ sources: v.record(v.string(), Counters) });
export const SourceCounters = v.object({ source: SourceName, counters: Counters });

export const OverviewQuery = v.object({
  since: v.optional(
    timeQuery(
      "since must be RFC 3339 or Unix milliseconds",
      `The window's start: at most 7 days back, not in the future; default 24 hours ago. ${TIME_INPUT}`,
    ),
  ),
  source: text("Only this source (a configured one, else 404).", "source", 256),
});
const Bucket = v.object({
  at: v.pipe(v.number(), v.description("The bucket's start, Unix ms.")),
  accepted: count,
  duplicate: count,
  rejected: count,
  quarantined: count,
  delivered: count,
  failed: count,
  dead: count,
});
export const Overview = v.object({
  bucketMs: v.literal(300_000),
  sources: v.record(
    v.string(),
    v.object({
      series: v.array(Bucket),
      latencyMs: v.pipe(
        v.nullable(v.object({ p50: v.number(), p95: v.number() })),
        v.description("Delivery latency; null without deliveries."),
      ),
    }),
  ),
});

export const RejectionsQuery = v.object({
  source: text("Only this source (any name: requests to unknown sources are listed under the name they used).", "source", 256),
  limit: limitQuery(1000, 100),
});
export const Rejections = v.object({
  rejections: v.array(
    v.object({
      source: v.pipe(v.string(), v.description("The path's source segment as sent (cut short).")),
      at: v.pipe(v.number(), v.description("When, Unix ms.")),
      status: v.number(),
      cause: v.pipe(v.string(), v.description("unknown_source, bad_signature, stale_timestamp, ip_not_allowed, malformed, too_large, …")),
      bytes: v.nullable(v.number()),
      ip: v.nullable(v.string()),
      count: v.pipe(count, v.description("Requests this row stands for: 1, or more for a summary row of a flood.")),
    }),
  ),
});

export const Accounts = v.object({
  accounts: v.array(
    v.object({
      source: SourceName,
      account: v.string(),
      pending: count,
      oldestPendingAt: v.nullable(Timestamp),
      lastAttemptAt: v.nullable(Timestamp),
      lastStatus: v.nullable(v.number()),
      lastError: v.nullable(v.string()),
      consecutiveFailures: count,
      lagMs: v.nullable(v.number()),
      updatedAt: Timestamp,
    }),
  ),
  next: v.optional(v.pipe(v.string(), v.description("Present while more accounts follow: pass it as `cursor`."))),
});

export const IndexState = v.object({
  mode: v.pipe(v.picklist(["all", "attention"]), v.description("all: every event; attention: only those that need an operator.")),
  retentionDays: count,
  lagMs: v.pipe(v.nullable(v.number()), v.description("The largest lag of an account's last batch.")),
  updatedAt: v.pipe(v.nullable(Timestamp), v.description("The index's newest write.")),
  sinceUpdateMs: v.pipe(v.nullable(v.number()), v.description("Now minus `updatedAt`.")),
});

/** A name for the audit log: 1 to 64 characters, none of them a control, format or line separator character. */
const NAME = /^[^\p{C}\p{Zl}\p{Zp}]{1,64}$/u;

/** POST /admin/session's body (src/auth/session-routes.ts validates with it). */
export const SessionBody = v.pipe(
  v.object({
    token: v.pipe(v.string(), v.description("ADMIN_TOKEN or the read-only token.")),
    name: v.optional(
      v.pipe(
        v.string(),
        v.description("Who signs in, for the audit log: 1 to 64 printable characters."),
        // A check, not a regex action: JSON Schema has no flags, and this pattern needs `u`.
        v.check((name) => NAME.test(name)),
      ),
    ),
  }),
  v.title("SignIn"),
);
export const Session = v.object({
  actor: v.pipe(v.string(), v.description("Who the session's actions are logged as.")),
  role: v.picklist(["admin", "read"]),
  expiresAt: Timestamp,
});
