/**
 * Configuration from wrangler vars and secrets, validated with valibot on first use and cached
 * per isolate. Errors name the field at fault and never include a secret's value.
 * Reference: docs/configuration.md.
 */
import * as v from "valibot";
import { PROVIDERS } from "./event";
import { type IpRange, parseRange } from "./ip";
import { log } from "./log";
import { providers } from "./providers";
import type { Provider } from "./providers/provider";
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
  /** Rejected requests are kept this many days, and at most this many per source (src/overview/retention.ts). */
  rejectionsRetentionDays: ["REJECTIONS_RETENTION_DAYS", 7],
  rejectionsPerSource: ["REJECTIONS_PER_SOURCE", 1000],
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
  readonly originUrl: string;
  /** When set, only these sender addresses (CF-Connecting-IP) are accepted: an extra check. */
  readonly ipAllowList?: readonly IpRange[];
}

export interface GatewayConfig extends Readonly<Record<NumberSetting, number>> {
  readonly sources: ReadonlyMap<string, SourceConfig>;
  /** Standard Webhooks keys, newest first: events are signed with each (rotation overlap). */
  readonly originSecrets: readonly Uint8Array<ArrayBuffer>[];
  /** Who may use the operator API, and how (src/auth/). */
  readonly auth: AuthSettings;
}

/** Cloudflare Access in front of /admin/* and /console*: the team's URL and the application's AUD tag. */
export interface AccessSettings {
  /** `https://<team>.cloudflareaccess.com`, no trailing slash: the JWT's issuer; keys at `/cdn-cgi/access/certs`. */
  readonly teamDomain: string;
  readonly audience: string;
}

/** The operator API's credentials and session settings (docs/configuration.md). */
export interface AuthSettings {
  /** Bearer token of the admin role; undefined disables the API. Sessions are signed with a key derived from it. */
  readonly adminToken?: string;
  /** Optional bearer token of the read-only role. */
  readonly readToken?: string;
  /** Lifetime of a console session (cookie Max-Age and the signed expiry). */
  readonly sessionTtlSeconds: number;
  /** Set: every /admin/* and /console* request needs a valid Access JWT. "invalid": half set or malformed, so those requests are refused (fail closed). */
  readonly access?: AccessSettings | "invalid";
}

/**
 * An invalid configuration still carries the authentication settings that are valid (the admin
 * token, Access), so an operator can read the errors at GET /admin/health, behind Access if set.
 */
export type ConfigResult = { ok: true; config: GatewayConfig } | { ok: false; errors: string[]; auth: AuthSettings };

const SOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const COMMON_KEYS = new Set(["provider", "secrets", "origin", "ipAllowList"]);

const SourceBase = v.looseObject({
  provider: v.picklist(PROVIDERS, `must be one of ${PROVIDERS.join(", ")}`),
  secrets: v.optional(v.array(v.pipe(v.string(), v.nonEmpty("must not be empty"))), []),
  origin: v.optional(v.string()),
  ipAllowList: v.optional(v.array(v.string())),
});

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
): SourceConfig | undefined {
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
  if (errors.length > before || originUrl === undefined) return undefined;
  return {
    name,
    provider,
    secrets,
    named,
    options: options.output,
    originUrl,
    ...(base.output.ipAllowList !== undefined && { ipAllowList }),
  };
}

/** Parses and checks the whole configuration. */
export function parseConfig(env: Record<string, unknown>): ConfigResult {
  const errors: string[] = [];
  const sources = new Map<string, SourceConfig>();
  const rawSources = readSources(env.SOURCES);
  const defaultOrigin = typeof env.ORIGIN_URL === "string" && env.ORIGIN_URL !== "" ? env.ORIGIN_URL : undefined;
  if (typeof rawSources === "string") errors.push(rawSources);
  else {
    for (const [name, raw] of Object.entries(rawSources)) {
      const source = resolveSource(name, raw, env, defaultOrigin, errors);
      if (source) sources.set(name, source);
    }
  }

  const originSecrets: Uint8Array<ArrayBuffer>[] = [];
  for (const binding of ["ORIGIN_SECRET", "ORIGIN_SECRET_PREVIOUS"] as const) {
    const secret = env[binding];
    if (secret === undefined || secret === "") {
      if (binding === "ORIGIN_SECRET") errors.push("ORIGIN_SECRET: is not set");
      continue;
    }
    const key = typeof secret === "string" && secret.startsWith("whsec_") ? fromBase64(secret.slice(6)) : undefined;
    if (key === undefined || key.length < 24) errors.push(`${binding}: must be whsec_ followed by standard base64 of at least 24 bytes`);
    else originSecrets.push(key);
  }

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

  if (errors.length > 0) return { ok: false, errors, auth };
  return { ok: true, config: { sources, originSecrets, ...numbers, auth } };
}

/** Console sessions last an hour by default, at least a minute and at most a day. */
export const SESSION_TTL = { binding: "SESSION_TTL_SECONDS", fallback: 3600, min: 60, max: 86_400 } as const;

/** The Access team domain, normalized (no trailing slash), or undefined when it is not an https URL without query. */
function teamDomainOf(text: string): string | undefined {
  if (originUrlError(text) !== undefined) return undefined;
  const url = new URL(text);
  if (url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") return undefined;
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

/**
 * The authentication settings, each error pushed. Only valid values are kept, so an invalid
 * configuration still has a usable admin token and fails closed on a broken Access setting.
 */
function readAuth(env: Record<string, unknown>, errors: string[]): AuthSettings {
  const text = (name: string) => (typeof env[name] === "string" && env[name] !== "" ? env[name] : undefined);
  const given = text("ADMIN_TOKEN");
  if (given !== undefined && given.length < 16) errors.push("ADMIN_TOKEN: must be at least 16 characters");
  const adminToken = given !== undefined && given.length >= 16 ? given : undefined;

  let readToken = text("ADMIN_READ_TOKEN");
  if (readToken !== undefined) {
    const problem =
      readToken.length < 16
        ? "must be at least 16 characters"
        : given === undefined
          ? "needs ADMIN_TOKEN (sessions are signed with a key derived from it)"
          : readToken === given
            ? "must differ from ADMIN_TOKEN"
            : undefined;
    if (problem !== undefined) errors.push(`ADMIN_READ_TOKEN: ${problem}`);
    if (problem !== undefined || adminToken === undefined) readToken = undefined;
  }

  const rawTtl = env[SESSION_TTL.binding];
  let sessionTtlSeconds: number = SESSION_TTL.fallback;
  if (rawTtl !== undefined && rawTtl !== "") {
    const ttl = positiveInt(rawTtl);
    if (ttl === undefined) errors.push(`${SESSION_TTL.binding}: must be a positive integer`);
    else if (ttl < SESSION_TTL.min || ttl > SESSION_TTL.max)
      errors.push(`${SESSION_TTL.binding}: must be between ${SESSION_TTL.min} and ${SESSION_TTL.max} (a day)`);
    else sessionTtlSeconds = ttl;
  }

  const team = text("ACCESS_TEAM_DOMAIN");
  const audience = text("ACCESS_AUD");
  let access: AuthSettings["access"];
  if (team !== undefined || audience !== undefined) {
    const teamDomain = team === undefined ? undefined : teamDomainOf(team);
    if (team === undefined || audience === undefined) {
      errors.push(`${team === undefined ? "ACCESS_TEAM_DOMAIN" : "ACCESS_AUD"}: set both ACCESS_TEAM_DOMAIN and ACCESS_AUD, or neither`);
    } else if (teamDomain === undefined) {
      errors.push("ACCESS_TEAM_DOMAIN: must be an https URL such as https://myteam.cloudflareaccess.com (http only for localhost)");
    }
    access = teamDomain !== undefined && audience !== undefined ? { teamDomain, audience } : "invalid";
  }

  return {
    sessionTtlSeconds,
    ...(adminToken !== undefined && { adminToken }),
    ...(readToken !== undefined && { readToken }),
    ...(access !== undefined && { access }),
  };
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
