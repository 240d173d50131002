/**
 * The console session: `payload.signature`, both base64url. The payload is JSON
 * `{v, role, actor, exp, fp}`: `exp` in Unix seconds, `fp` the fingerprint of the token that
 * signed in. The signature is HMAC-SHA256 over the payload's text under a key derived from
 * `ADMIN_TOKEN` (HKDF with a fixed label), so rotating `ADMIN_TOKEN` ends every session. A
 * read session's `fp` must match `ADMIN_READ_TOKEN`'s, so rotating that one ends the read
 * sessions too. Sessions are stateless: nothing is stored, and signing out only drops the
 * cookie from the browser (docs/operations.md "Console sign-in and sessions").
 */
import * as v from "valibot";
import { fromUtf8, timingSafeEqual, utf8 } from "../verify/crypto";
import { fromBase64Url, toBase64Url } from "./encoding";
import type { Role } from "./principal";
import type { AuthSettings } from "./settings";

export interface Session {
  readonly actor: string;
  readonly role: Role;
  /** Unix seconds. */
  readonly exp: number;
}

// HKDF's salt and info: fixed labels, so this key is used for nothing but sessions, and a new
// version of the format can derive a new key.
const SALT = utf8("webhook-gateway console session");
const INFO = utf8("session-hmac-sha256 v1");

// One derived key per isolate, for the current ADMIN_TOKEN (deriving costs more than a MAC).
let cached: { token: string; key: Promise<CryptoKey> } | undefined;

function sessionKey(adminToken: string): Promise<CryptoKey> {
  if (cached?.token !== adminToken) {
    const key = crypto.subtle
      .importKey("raw", utf8(adminToken), "HKDF", false, ["deriveKey"])
      .then((material) =>
        crypto.subtle.deriveKey(
          { name: "HKDF", hash: "SHA-256", salt: SALT, info: INFO },
          material,
          { name: "HMAC", hash: "SHA-256", length: 256 },
          false,
          ["sign"],
        ),
      );
    cached = { token: adminToken, key };
  }
  return cached.key;
}

async function mac(key: CryptoKey, text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8(text)));
}

/**
 * The fingerprint of a token, keyed by the session key: it tells whether a session was opened
 * with the token configured now, and shows nothing of the token to the cookie's holder.
 */
async function fingerprint(key: CryptoKey, token: string): Promise<string> {
  return toBase64Url((await mac(key, `fingerprint\u0000${token}`)).subarray(0, 16));
}

const tokenFor = (auth: AuthSettings, role: Role) => (role === "admin" ? auth.adminToken : auth.readToken);

/** Signs a session. The role's token must be configured (the caller just matched it). */
export async function issueSession(auth: AuthSettings, session: Session): Promise<string> {
  const token = tokenFor(auth, session.role);
  if (auth.adminToken === undefined || token === undefined) throw new Error(`no token configured for the ${session.role} role`);
  const key = await sessionKey(auth.adminToken);
  const claims = { v: 1, role: session.role, actor: session.actor, exp: session.exp, fp: await fingerprint(key, token) };
  const payload = toBase64Url(utf8(JSON.stringify(claims)));
  return `${payload}.${toBase64Url(await mac(key, payload))}`;
}

const Claims = v.object({
  v: v.literal(1),
  role: v.picklist(["admin", "read"]),
  actor: v.string(),
  exp: v.pipe(v.number(), v.safeInteger()),
  fp: v.string(),
});

// A payload (at most a few hundred characters) and a 32-byte tag (43 characters).
const FORMAT = /^([A-Za-z0-9_-]{1,2048})\.([A-Za-z0-9_-]{43})$/;

/**
 * The session a cookie value holds, or undefined when it is malformed, not signed with the
 * current key (tampered, or ADMIN_TOKEN rotated), expired at `nowMs`, or opened with a token
 * that is no longer configured. The tag is compared in constant time.
 */
export async function readSession(value: string, auth: AuthSettings, nowMs: number): Promise<Session | undefined> {
  const parts = FORMAT.exec(value);
  if (parts === null || auth.adminToken === undefined) return undefined;
  const [, payload, signature] = parts as unknown as [string, string, string];
  const tag = fromBase64Url(signature);
  const key = await sessionKey(auth.adminToken);
  if (tag === undefined || !timingSafeEqual(tag, await mac(key, payload))) return undefined;
  // Signed by this gateway: the payload is its own JSON, checked anyway.
  const bytes = fromBase64Url(payload);
  const text = bytes && fromUtf8(bytes);
  let json: unknown;
  try {
    json = text === undefined ? undefined : JSON.parse(text);
  } catch {
    // Unreachable for a payload this gateway signed; treated as no session.
    return undefined;
  }
  const claims = v.safeParse(Claims, json);
  if (!claims.success || claims.output.exp * 1000 <= nowMs) return undefined;
  const token = tokenFor(auth, claims.output.role);
  if (token === undefined || !timingSafeEqual(utf8(claims.output.fp), utf8(await fingerprint(key, token)))) return undefined;
  return { actor: claims.output.actor, role: claims.output.role, exp: claims.output.exp };
}
