/**
 * The brake on guessing the operator API's tokens (docs/operations.md "Sign-in attempts").
 * Every request that presents a token (a sign-in's, or a bearer token on /admin/*) is one call
 * `limit({ key })` of the `SIGNIN_LIMIT` rate limiting binding (wrangler.toml: 600 per 60 s per
 * client), right token or wrong: the documented API has no cost per call, so a wrong token
 * cannot cost more than a right one. 600 a minute (10 a second) leaves scripts room; the console
 * presents its token once and then uses its cookie. Once the budget is spent, every request that
 * presents a token gets 429 until the window is over, the right token included: refusing only
 * the wrong ones would tell a guesser which guess was right. A session cookie presents no token
 * and is never counted (it is unguessable: an HMAC of the gateway's).
 *
 * What this buys, honestly: at most 600 guesses a minute per client address per Cloudflare
 * location (the binding counts per location and approximately, by design), and a guesser with
 * many addresses has a budget for each. Against a random token that is nothing: 16 random
 * base64 characters (96 bits) would take ~10^26 minutes at that rate. It only slows the guessing
 * of a short or guessable token, and does not make one safe. The defence is the token's entropy:
 * ADMIN_TOKEN and ADMIN_READ_TOKEN must be long random values (`openssl rand -base64 32`). Clients are keyed by `CF-Connecting-IP`, IPv6 by its /64 (one
 * subscriber's usual allocation, so rotating addresses inside it does not reset anything).
 */

import { parseRange } from "../ip";
import { log } from "../log";
import { throttled } from "../log-throttle";
import { reply } from "../replies";

/** The binding's period: a refused client may try again in the next window, at most this far. */
export const RETRY_AFTER_SECONDS = 60;

const MISSING_BINDING = "SIGNIN_LIMIT: no rate limiting binding: token guesses are not limited (wrangler.toml [[ratelimits]])";

export const tooManyAttempts = () => reply.json(429, { error: "too_many_attempts" }, { "retry-after": String(RETRY_AFTER_SECONDS) });

/**
 * The budget's key for a client address: an IPv4 address (or one mapped into IPv6) as is, an
 * IPv6 address by its /64. Undefined without an address.
 */
export function clientKey(ip: string): string | undefined {
  if (ip.trim() === "") return undefined;
  const address = parseRange(ip.trim())?.base;
  // Not an address (Cloudflare always sends one): its text, bounded, is the key.
  if (address === undefined) return `text:${ip.trim().slice(0, 64)}`;
  return address >> 32n === 0xffffn ? `ip:${address.toString(16)}` : `net:${(address >> 64n).toString(16)}/64`;
}

// Logged once per isolate: the configuration is wrong, and GET /admin/health says so too.
let missingReported = false;

/** The configuration errors of the binding, for GET /admin/health: the binding is part of the deployment. */
export function attemptLimitErrors(limiter: RateLimit | undefined): string[] {
  return limiter === undefined ? [MISSING_BINDING] : [];
}

/**
 * Counts one token-presenting request against its client's budget, before the token is checked:
 * the 429 to answer when the budget was already spent (the token then is not looked at), else
 * undefined. Without the binding, or when it fails, the token is answered as if there were no
 * limit: operators are never locked out by the brake itself (logged at error, someone must look).
 */
export async function spendAttempt(request: Request, limiter: RateLimit | undefined): Promise<Response | undefined> {
  if (limiter === undefined) {
    if (!missingReported) log("signin_limit_missing", { level: "error", error: MISSING_BINDING });
    missingReported = true;
    return undefined;
  }
  // Cloudflare sets CF-Connecting-IP on every request that reaches a deployed Worker; only a
  // call made inside the process (the tests) has none, and there is no client to count.
  const ip = request.headers.get("cf-connecting-ip") ?? "";
  const key = clientKey(ip);
  if (key === undefined) return undefined;
  let success: boolean;
  try {
    // The documented API only (developers.cloudflare.com/workers/runtime-apis/bindings/rate-limit):
    // `{ key }`, one unit per call.
    ({ success } = await limiter.limit({ key }));
  } catch (err) {
    // Lines per 10 s per isolate: a failing binding fails every request that presents a token.
    const line = throttled("admin", "signin_limit_error", Date.now(), {
      level: "error" as const,
      error: err instanceof Error ? err.message : String(err),
    });
    if (line !== null) log("signin_limit_error", line);
    return undefined;
  }
  if (success) return undefined;
  // The client's address, never what it presented. Throttled: a guesser picks how many there are.
  const line = throttled("admin", "too_many_attempts", Date.now(), { level: "warn" as const, ip, path: new URL(request.url).pathname });
  if (line !== null) log("too_many_attempts", line);
  return tooManyAttempts();
}
