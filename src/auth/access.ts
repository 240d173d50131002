/**
 * Optional Cloudflare Access, checked by the Worker itself (docs/deploy.md). When
 * ACCESS_TEAM_DOMAIN and ACCESS_AUD are set, every request to /admin/* and /console* must carry
 * the `Cf-Access-Jwt-Assertion` JWT that Access adds in front of the Worker: RS256, issued by
 * the team domain, for an audience that includes the application's AUD tag, signed by one of
 * the team's keys (`<team>/cdn-cgi/access/certs`), within its `nbf` and `exp`. This runs before
 * anything else, the token check included, so a request that did not pass Access (the
 * workers.dev URL, a route without the policy) never reaches it. Its email, or subject for a
 * service token, is the actor of the audit log.
 */
import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from "jose";
import { loadConfig } from "../config";
import { log } from "../log";
import { reply } from "../replies";
import type { AuthSettings } from "./settings";

export const ACCESS_HEADER = "cf-access-jwt-assertion";

/** A refusal to send as is, or the request may go on (with the Access identity when Access is on). */
export type AccessResult = Response | { identity?: string };

// One key set per team domain and isolate: jose keeps the fetched keys (up to 10 minutes) and
// fetches again when a token names a key id it does not know (at most every 30 s), which is how
// it follows Access's key rotation.
const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

function keySet(teamDomain: string): ReturnType<typeof createRemoteJWKSet> {
  let keys = keySets.get(teamDomain);
  if (keys === undefined) {
    keys = createRemoteJWKSet(new URL(`${teamDomain}/cdn-cgi/access/certs`));
    keySets.set(teamDomain, keys);
  }
  return keys;
}

/** Who the JWT names: a user's email, else the subject, else a service token's common name. */
function identityOf(payload: JWTPayload): string | undefined {
  for (const claim of [payload.email, payload.sub, payload.common_name]) {
    if (typeof claim === "string" && claim !== "") return claim;
  }
  return undefined;
}

// Errors that say the team's keys could not be had (network, a non-200 or non-JSON answer):
// the gateway's problem, logged for a person, not the caller's.
const KEY_SET_FAILURES = new Set(["ERR_JWKS_TIMEOUT", "ERR_JWKS_INVALID", "ERR_JOSE_GENERIC"]);

function denied(request: Request, reason: string, level: "info" | "error" = "info"): Response {
  log("access_denied", { level, path: new URL(request.url).pathname, reason });
  return reply.forbidden();
}

/** The Access check with the settings already loaded (the admin gate has them). */
export async function checkAccess(request: Request, auth: AuthSettings): Promise<AccessResult> {
  if (auth.access === undefined) return {};
  // Half set or malformed (a configuration error, logged at load): closed, never open.
  if (auth.access === "invalid") return denied(request, "access settings invalid", "error");
  const assertion = request.headers.get(ACCESS_HEADER);
  if (assertion === null || assertion === "") return denied(request, "no Cf-Access-Jwt-Assertion header");
  const { teamDomain, audience } = auth.access;
  try {
    const { payload } = await jwtVerify(assertion, keySet(teamDomain), { issuer: teamDomain, audience, algorithms: ["RS256"] });
    const identity = identityOf(payload);
    return identity === undefined ? {} : { identity };
  } catch (err) {
    if (err instanceof errors.JWTClaimValidationFailed || err instanceof errors.JWTExpired) {
      return denied(request, `${err.code}: ${err.claim} ${err.reason}`);
    }
    if (err instanceof errors.JOSEError && !KEY_SET_FAILURES.has(err.code)) return denied(request, err.code);
    // No key set to check against: refused all the same (fail closed), and someone must look.
    return denied(request, `team keys unavailable: ${err instanceof Error ? err.message : String(err)}`, "error");
  }
}

/**
 * The Access check for a route outside /admin/ (the console calls it for /console*): a 403
 * Response to return as is, or `{ identity }` (undefined identity when Access is not configured).
 */
export function accessCheck(request: Request, env: Env): Promise<AccessResult> {
  const loaded = loadConfig(env);
  return checkAccess(request, loaded.ok ? loaded.config.auth : loaded.auth);
}
