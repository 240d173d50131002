/**
 * The operator API's authentication settings: the two tokens, the session lifetime and Cloudflare
 * Access, read and checked for src/config.ts's parseConfig like every other setting (errors name
 * the field, never a value). Reference: docs/configuration.md.
 */

// http is accepted only for these hosts (local runs and the tests' loopback key server), as for origins.
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

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

/** Console sessions last an hour by default, at least a minute and at most a day. */
export const SESSION_TTL = { binding: "SESSION_TTL_SECONDS", fallback: 3600, min: 60, max: 86_400 } as const;

/** The Access team domain, normalized (no trailing slash), or undefined when it is not an https URL without query. */
function teamDomainOf(text: string): string | undefined {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  const loopback = url !== undefined && LOOPBACK.has(url.hostname);
  if (url === undefined || !(url.protocol === "https:" || (url.protocol === "http:" && loopback))) return undefined;
  if (url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") return undefined;
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

/**
 * The authentication settings, each error pushed. Only valid values are kept, so an invalid
 * configuration still has a usable admin token and fails closed on a broken Access setting.
 */
export function readAuth(env: Record<string, unknown>, errors: string[]): AuthSettings {
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
    const ttl = typeof rawTtl === "number" || typeof rawTtl === "string" ? Number(rawTtl) : Number.NaN;
    if (!Number.isSafeInteger(ttl) || ttl <= 0) errors.push(`${SESSION_TTL.binding}: must be a positive integer`);
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
