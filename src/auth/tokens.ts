/**
 * The operator API's bearer tokens: `ADMIN_TOKEN` grants the admin role, `ADMIN_READ_TOKEN` the
 * read role. A presented token is compared with both, in constant time, always both: hashing
 * first makes every side one length, so neither a token's length nor where it differs shows.
 */

import { digest, timingSafeEqual, utf8 } from "../verify/crypto";
import type { Role } from "./principal";
import type { AuthSettings } from "./settings";

/**
 * The token of an `Authorization: Bearer <token>` header; undefined without one. The scheme
 * name is case-insensitive (RFC 9110 §11.1); the token is taken exactly.
 */
export function bearerToken(request: Request): string | undefined {
  return /^bearer +(.+)$/i.exec(request.headers.get("authorization") ?? "")?.[1];
}

/** The role a presented token grants, or undefined when it matches no configured token. */
export async function roleOfToken(given: string, auth: AuthSettings): Promise<Role | undefined> {
  const sha256 = (text: string) => digest("SHA-256", utf8(text));
  const [presented, admin, read] = await Promise.all([sha256(given), sha256(auth.adminToken ?? ""), sha256(auth.readToken ?? "")]);
  const isAdmin = timingSafeEqual(presented, admin) && auth.adminToken !== undefined;
  const isRead = timingSafeEqual(presented, read) && auth.readToken !== undefined;
  return isAdmin ? "admin" : isRead ? "read" : undefined;
}
