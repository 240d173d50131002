/**
 * Configuration from wrangler vars and secrets, validated with valibot on first use and cached
 * per isolate. Errors name the field at fault and never include a secret's value.
 * Reference: docs/configuration.md.
 */
import * as v from "valibot";
import { type AuthSettings, readAuth } from "./auth/settings";
import { type DestinationConfig, destinationId, type OriginSigning } from "./destinations";
import { PROVIDERS } from "./event";
import { type IndexMode, readIndexMode } from "./index-db/mode";
import { type IpRange, parseRange } from "./ip";
import { log } from "./log";
import { providers } from "./providers";
import type { Provider } from "./providers/provider";
import { defaultsMissing, readDefaultSigning, sourceSigning } from "./signing-config";
import { MAX_BODY_BYTES_LIMIT } from "./storage-limits";
import { fromBase64 } from "./verify/crypto";

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

/** One configured source, with its secrets resolved from their bindings. */
export interface SourceConfig {
  readonly name: string;
  readonly provider: Provider<unknown, unknown>;
  /** Values of the `secrets` bindings, newest first. */
  readonly secrets: readonly string[];
  /** Values of other secret bindings named in the provider options. */
  readonly named: ReadonlyMap<string, string>;
  readonly options: unknown;
  /** Its destination's URL (`destination.url`). */
  readonly originUrl: string;
  /** Where its events go: the destination object guarding that URL (src/destinations.ts). */
  readonly destination: DestinationConfig;
  /** How its events are signed for the origin. */
  readonly signing: OriginSigning;
  /** When set, only these sender addresses (CF-Connecting-IP) are accepted: an extra check. */
  readonly ipAllowList?: readonly IpRange[];
}

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

const SOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const COMMON_KEYS = new Set(["provider", "secrets", "origin", "originSecret", "originSigningKey", "originCertificate", "ipAllowList"]);

const bindingName = v.pipe(v.string(), v.nonEmpty("must not be empty"));
/** One binding name, or a list of them newest first (rotation). */
const bindingNames = v.union(
  [bindingName, v.pipe(v.array(bindingName), v.minLength(1, "must name at least one binding"))],
  "must be a secret binding name or a list of them, newest first",
);

const SourceBase = v.looseObject({
  provider: v.picklist(PROVIDERS, `must be one of ${PROVIDERS.join(", ")}`),
  secrets: v.optional(v.array(v.pipe(v.string(), v.nonEmpty("must not be empty"))), []),
  origin: v.optional(v.string()),
  /** `v1` keys (`whsec_` secrets) for this source's events instead of ORIGIN_SECRET. */
  originSecret: v.optional(bindingNames),
  /** `v1a` keys (`whsk_` secrets) for this source's events instead of ORIGIN_SIGNING_KEY. */
  originSigningKey: v.optional(bindingNames),
  /** An mTLS certificate binding (`[[mtls_certificates]]`) presented to the origin. */
  originCertificate: v.optional(bindingName),
  ipAllowList: v.optional(v.array(v.string())),
});

/** A source as read, before it is given its destination and, when it names none, the default keys. */
type ResolvedSource = Omit<SourceConfig, "destination" | "signing"> & {
  /** Its own keys; undefined: it signs with the defaults. */
  readonly ownSigning?: OriginSigning;
  readonly certificate?: string;
};

const positiveInt = (text: unknown): number | undefined => {
  const n = typeof text === "number" ? text : typeof text === "string" && text !== "" ? Number(text) : Number.NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
};

/** Origins must be https, except loopback hosts for local development and tests. */
export function originUrlError(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The failure is the answer: it becomes a configuration error naming the field.
    return "is not a URL";
  }
  if (parsed.protocol === "https:") return undefined;
  const loopback = ["localhost", "127.0.0.1", "[::1]"].includes(parsed.hostname);
  return parsed.protocol === "http:" && loopback ? undefined : "must be https (http only for localhost)";
}

function readSources(raw: unknown): Record<string, unknown> | string {
  if (typeof raw === "string") {
    try {
      raw = JSON.parse(raw);
    } catch {
      // Reported as a configuration error naming the field, like every other setting.
      return "SOURCES: is not valid JSON";
    }
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return "SOURCES: must be an object of sources";
  return raw as Record<string, unknown>;
}

function issuesOf(prefix: string, issues: readonly v.BaseIssue<unknown>[]): string[] {
  return issues.map((issue) => {
    const path = v.getDotPath(issue);
    return `${prefix}${path ? `.${path}` : ""}: ${issue.message}`;
  });
}

function secretValue(env: Record<string, unknown>, name: string): string | undefined {
  const value = env[name];
  return typeof value === "string" && value !== "" ? value : undefined;
}

function resolveSource(
  name: string,
  raw: unknown,
  env: Record<string, unknown>,
  defaultOrigin: string | undefined,
  errors: string[],
): ResolvedSource | undefined {
  const at = `SOURCES.${name}`;
  if (!SOURCE_NAME.test(name)) errors.push(`${at}: source names are letters, digits, '-' and '_' (max 64)`);
  const base = v.safeParse(SourceBase, raw);
  if (!base.success) {
    errors.push(...issuesOf(at, base.issues));
    return undefined;
  }
  const provider = providers[base.output.provider];
  const optionInput = Object.fromEntries(Object.entries(base.output).filter(([key]) => !COMMON_KEYS.has(key)));
  const options = v.safeParse(provider.options, optionInput);
  if (!options.success) {
    errors.push(...issuesOf(at, options.issues));
    return undefined;
  }
  const before = errors.length;
  const secrets: string[] = [];
  for (const binding of base.output.secrets) {
    const value = secretValue(env, binding);
    if (value === undefined) errors.push(`${at}.secrets: secret binding ${binding} is not set`);
    else secrets.push(value);
  }
  const named = new Map<string, string>();
  for (const binding of provider.secretBindings(options.output)) {
    const value = secretValue(env, binding);
    if (value === undefined) errors.push(`${at}: secret binding ${binding} is not set`);
    else named.set(binding, value);
  }
  if (errors.length === before) {
    const missing = provider.configError
      ? provider.configError(options.output, secrets.length + named.size)
      : secrets.length + named.size === 0
        ? "secrets: at least one secret is required (a source never runs without verification)"
        : undefined;
    if (missing !== undefined) errors.push(`${at}.${missing}`);
  }
  const originUrl = base.output.origin ?? defaultOrigin;
  if (originUrl === undefined) errors.push(`${at}: no origin (set ORIGIN_URL or the source's "origin")`);
  else {
    const problem = originUrlError(originUrl);
    if (problem) errors.push(`${base.output.origin ? `${at}.origin` : "ORIGIN_URL"}: ${problem}`);
  }
  const ipAllowList: IpRange[] = [];
  for (const [i, entry] of (base.output.ipAllowList ?? []).entries()) {
    const range = parseRange(entry);
    if (range === undefined) errors.push(`${at}.ipAllowList.${i}: ${JSON.stringify(entry)} is not an IP address or CIDR range`);
    else ipAllowList.push(range);
  }
  if (base.output.ipAllowList?.length === 0) errors.push(`${at}.ipAllowList: must not be empty (leave it out to allow any address)`);
  const ownSigning = sourceSigning(at, base.output, env, errors);
  const certificate = base.output.originCertificate;
  if (certificate !== undefined && !isFetcher(env[certificate])) {
    errors.push(
      `${at}.originCertificate: mTLS certificate binding ${certificate} is not bound (add it to [[mtls_certificates]]: docs/deploy.md)`,
    );
  }
  if (errors.length > before || originUrl === undefined) return undefined;
  return {
    name,
    provider,
    secrets,
    named,
    options: options.output,
    originUrl,
    ...(base.output.ipAllowList !== undefined && { ipAllowList }),
    ...(ownSigning !== undefined && { ownSigning }),
    ...(certificate !== undefined && { certificate }),
  };
}

/** A certificate binding is a Fetcher: its `fetch` presents the certificate. */
function isFetcher(binding: unknown): boolean {
  return typeof binding === "object" && binding !== null && typeof (binding as { fetch?: unknown }).fetch === "function";
}

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

/**
 * Gives each source its destination (sources naming the same URL and certificate binding share
 * one) and its signing keys (its own, or `defaults`).
 */
function withDestinations(
  resolved: ReadonlyMap<string, ResolvedSource>,
  defaults: OriginSigning,
): { sources: Map<string, SourceConfig>; destinations: Map<string, DestinationConfig> } {
  const sources = new Map<string, SourceConfig>();
  const members = new Map<string, { url: string; certificate: string | undefined; sources: string[] }>();
  for (const [name, source] of resolved) {
    const id = destinationId(source.originUrl, source.certificate);
    const entry = members.get(id) ?? { url: source.originUrl, certificate: source.certificate, sources: [] };
    entry.sources.push(name);
    members.set(id, entry);
  }
  const destinations = new Map<string, DestinationConfig>(
    [...members].map(([id, m]) => [
      id,
      { id, url: m.url, ...(m.certificate !== undefined && { certificate: m.certificate }), sources: m.sources },
    ]),
  );
  for (const [name, { ownSigning, certificate, ...source }] of resolved) {
    const destination = destinations.get(destinationId(source.originUrl, certificate))!;
    sources.set(name, { ...source, destination, signing: ownSigning ?? defaults });
  }
  return { sources, destinations };
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
