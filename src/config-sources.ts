/**
 * The sources of the configuration (`SOURCES`), read and checked one by one: provider and its
 * options, verification secrets, origin, signing keys (./signing-config.ts), mTLS certificate
 * binding and IP allow-list; then grouped into destinations (./destinations.ts). Errors name
 * the field at fault and never include a secret's value. Reference: docs/configuration.md.
 */
import * as v from "valibot";
import { type DestinationConfig, destinationId, type OriginSigning } from "./destinations";
import { PROVIDERS } from "./event";
import { type IpRange, parseRange } from "./ip";
import { providers } from "./providers";
import type { Provider } from "./providers/provider";
import { sourceSigning } from "./signing-config";

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
export type ResolvedSource = Omit<SourceConfig, "destination" | "signing"> & {
  /** Its own keys; undefined: it signs with the defaults. */
  readonly ownSigning?: OriginSigning;
  readonly certificate?: string;
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

export function readSources(raw: unknown): Record<string, unknown> | string {
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

export function resolveSource(
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

/**
 * Gives each source its destination (sources naming the same URL and certificate binding share
 * one) and its signing keys (its own, or `defaults`).
 */
export function withDestinations(
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
