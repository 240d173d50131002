/**
 * Configuration from wrangler vars and secrets, validated with valibot on first use and cached
 * per isolate. Errors name the field at fault and never include a secret's value.
 * Reference: docs/configuration.md.
 */
import { type AuthSettings, readAuth } from "./auth/settings";
import { originUrlError, type ResolvedSource, readSources, resolveSource, type SourceConfig, withDestinations } from "./config-sources";
import type { DestinationConfig, OriginSigning } from "./destinations";
import { type IndexMode, readIndexMode } from "./index-db/mode";
import { log } from "./log";
import { defaultsMissing, readDefaultSigning } from "./signing-config";
import { MAX_BODY_BYTES_LIMIT } from "./storage-limits";
import { fromBase64 } from "./verify/crypto";

export { originUrlError, type SourceConfig } from "./config-sources";

const DAY_SECONDS = 24 * 60 * 60;

/** Numeric settings: binding name and default. */
export const NUMBERS = {
  maxBodyBytes: ["MAX_BODY_BYTES", 256 * 1024],
  edgeCacheTtlSeconds: ["EDGE_CACHE_TTL_SECONDS", DAY_SECONDS],
  deliveryTimeoutMs: ["DELIVERY_TIMEOUT_MS", 10_000],
  /** Delivered events keep their body (for inspection and replay) this long. */
  retentionDeliveredSeconds: ["RETENTION_DELIVERED_SECONDS", 7 * DAY_SECONDS],
  /**
   * Idempotency keys (delivered events' rows) are kept this long: the dedupe horizon. CYBAVO,
   * Cregis and KillB sign no time, so a replay can come at any time; a key costs ~230 bytes
   * (docs/configuration.md "Key retention").
   */
  retentionKeysSeconds: ["RETENTION_KEYS_SECONDS", 400 * DAY_SECONDS],
  /** How often each isolate writes its counters to the per-source stats object. */
  statsFlushMs: ["STATS_FLUSH_MS", 10_000],
  /** The operators' D1 index keeps delivered events this many days (src/index-db/retention.ts). */
  indexRetentionDays: ["INDEX_RETENTION_DAYS", 90],
  /** In INDEX_MODE "attention", a pending event is indexed once it has waited this long (src/ledger/index-feed.ts). */
  indexPendingAfterSeconds: ["INDEX_PENDING_AFTER_SECONDS", 900],
  /** Rejected requests are kept this many days, and at most this many per source (src/overview/retention.ts). */
  rejectionsRetentionDays: ["REJECTIONS_RETENTION_DAYS", 7],
  rejectionsPerSource: ["REJECTIONS_PER_SOURCE", 1000],
  // Origin protection (src/destination/, docs/operations.md "Origin protection").
  /** The breaker opens when at least this percentage of a destination's attempts in the window failed... */
  breakerFailurePercent: ["BREAKER_FAILURE_PERCENT", 70],
  /** ... and the window holds at least this many attempts. */
  breakerMinAttempts: ["BREAKER_MIN_ATTEMPTS", 10],
  breakerWindowSeconds: ["BREAKER_WINDOW_SECONDS", 300],
  /** Or when this many attempts in a row failed, whatever the window says. */
  breakerConsecutiveFailures: ["BREAKER_CONSECUTIVE_FAILURES", 20],
  /** An open breaker's first probe comes this long after it opened; each failed probe doubles the wait... */
  breakerProbeSeconds: ["BREAKER_PROBE_SECONDS", 30],
  /** ... up to this. */
  breakerProbeMaxSeconds: ["BREAKER_PROBE_MAX_SECONDS", 3600],
  /** A held account asks its destination again at least this often (a wake-up that never came is not a stranded outbox). */
  breakerRecheckSeconds: ["BREAKER_RECHECK_SECONDS", 3600],
  /** The delivery ceiling: attempts per second to one destination, across all accounts. */
  destinationMaxPerSecond: ["DESTINATION_MAX_PER_SECOND", 100],
  /** After the breaker closes, the ceiling ramps up from a tenth over this long. */
  recoveryRampSeconds: ["RECOVERY_RAMP_SECONDS", 30],
  /** Operations webhook (src/ops/): a source's rejected requests in OPS_REJECTIONS_WINDOW_SECONDS that raise `gateway.source.rejections_high`. */
  opsRejectionsThreshold: ["OPS_REJECTIONS_THRESHOLD", 50],
  opsRejectionsWindowSeconds: ["OPS_REJECTIONS_WINDOW_SECONDS", 300],
  /** An account's oldest pending event older than this raises `gateway.backlog.stale`. */
  opsBacklogSeconds: ["OPS_BACKLOG_SECONDS", 3600],
} as const;
type NumberSetting = keyof typeof NUMBERS;

export interface GatewayConfig extends Readonly<Record<NumberSetting, number>> {
  readonly sources: ReadonlyMap<string, SourceConfig>;
  /** Every destination of the sources, by id (src/destinations.ts). */
  readonly destinations: ReadonlyMap<string, DestinationConfig>;
  /** The operations webhook (OPS_WEBHOOK_URL, src/ops/); undefined when not configured. */
  readonly ops?: { readonly url: string; readonly signing: OriginSigning };
  /** Who may use the operator API, and how (src/auth/). */
  readonly auth: AuthSettings;
  /** What the account objects write to the operators' D1 index (src/index-db/mode.ts). */
  readonly indexMode: IndexMode;
}

/**
 * An invalid configuration still carries the authentication settings that are valid (the admin
 * token, Access), so an operator can read the errors at GET /admin/health, behind Access if set.
 */
export type ConfigResult = { ok: true; config: GatewayConfig } | { ok: false; errors: string[]; auth: AuthSettings };

const positiveInt = (text: unknown): number | undefined => {
  const n = typeof text === "number" ? text : typeof text === "string" && text !== "" ? Number(text) : Number.NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
};

/** Parses and checks the whole configuration. */
export function parseConfig(env: Record<string, unknown>): ConfigResult {
  const errors: string[] = [];
  const resolved = new Map<string, ResolvedSource>();
  const rawSources = readSources(env.SOURCES);
  const defaultOrigin = typeof env.ORIGIN_URL === "string" && env.ORIGIN_URL !== "" ? env.ORIGIN_URL : undefined;
  if (typeof rawSources === "string") errors.push(rawSources);
  else {
    for (const [name, raw] of Object.entries(rawSources)) {
      const source = resolveSource(name, raw, env, defaultOrigin, errors);
      if (source) resolved.set(name, source);
    }
  }

  const defaults = readDefaultSigning(env, errors);
  const missing = defaultsMissing(
    [...resolved].filter(([, source]) => source.ownSigning === undefined).map(([name]) => name),
    defaults,
  );
  if (missing !== undefined) errors.push(missing);

  const numbers = {} as Record<NumberSetting, number>;
  for (const [key, [binding, fallback]] of Object.entries(NUMBERS) as [NumberSetting, (typeof NUMBERS)[NumberSetting]][]) {
    const raw = env[binding];
    const value = raw === undefined || raw === "" ? fallback : positiveInt(raw);
    if (value === undefined) errors.push(`${binding}: must be a positive integer`);
    else numbers[key] = value;
  }
  if (numbers.maxBodyBytes !== undefined && numbers.maxBodyBytes > MAX_BODY_BYTES_LIMIT) {
    errors.push(
      `MAX_BODY_BYTES: must be at most ${MAX_BODY_BYTES_LIMIT} (960 KiB): a stored event holds its payload about twice, and a Durable Object's SQLite row holds at most 2,000,000 bytes`,
    );
  }
  if (numbers.edgeCacheTtlSeconds !== undefined && numbers.edgeCacheTtlSeconds < 60) {
    errors.push("EDGE_CACHE_TTL_SECONDS: must be at least 60 (the Workers KV minimum)");
  }
  if (numbers.retentionKeysSeconds < numbers.retentionDeliveredSeconds) {
    errors.push("RETENTION_KEYS_SECONDS: must be at least RETENTION_DELIVERED_SECONDS (a key outlives its event's body)");
  }
  const auth = readAuth(env, errors);
  const indexMode = readIndexMode(env, errors);

  const { sources, destinations } = withDestinations(resolved, defaults.signing);
  const ops = readOps(env, errors);

  if (errors.length > 0) return { ok: false, errors, auth };
  return { ok: true, config: { sources, destinations, ...numbers, auth, indexMode, ...(ops !== undefined && { ops }) } };
}

/** OPS_WEBHOOK_URL and OPS_WEBHOOK_SECRET: both or neither. */
function readOps(env: Record<string, unknown>, errors: string[]): GatewayConfig["ops"] {
  const url = typeof env.OPS_WEBHOOK_URL === "string" && env.OPS_WEBHOOK_URL !== "" ? env.OPS_WEBHOOK_URL : undefined;
  const secret = typeof env.OPS_WEBHOOK_SECRET === "string" && env.OPS_WEBHOOK_SECRET !== "" ? env.OPS_WEBHOOK_SECRET : undefined;
  if (url === undefined && secret === undefined) return undefined;
  if (url === undefined || secret === undefined) {
    errors.push(`${url === undefined ? "OPS_WEBHOOK_URL" : "OPS_WEBHOOK_SECRET"}: is not set (set both or neither)`);
    return undefined;
  }
  const problem = originUrlError(url);
  if (problem !== undefined) errors.push(`OPS_WEBHOOK_URL: ${problem}`);
  const key = secret.startsWith("whsec_") ? fromBase64(secret.slice(6)) : undefined;
  if (key === undefined || key.length < 24)
    errors.push("OPS_WEBHOOK_SECRET: must be whsec_ followed by standard base64 of at least 24 bytes");
  if (problem !== undefined || key === undefined || key.length < 24) return undefined;
  return { url, signing: { hmac: [key], ed25519: [] } };
}

// The env object is stable for an isolate's life, so the parsed config is cached against it.
const cache = new WeakMap<object, ConfigResult>();

/** Returns the validated configuration for this env, parsing it once per isolate. */
export function loadConfig(env: object): ConfigResult {
  let result = cache.get(env);
  if (result === undefined) {
    result = parseConfig(env as Record<string, unknown>);
    cache.set(env, result);
    // Once per isolate: every webhook now gets 503 until someone fixes the settings. The errors
    // name fields and bindings, never a secret's value.
    if (!result.ok) log("config_invalid", { level: "error", errors: result.errors.join("; ") });
  }
  return result;
}
