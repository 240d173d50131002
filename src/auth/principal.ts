/**
 * Who an admin request acts as: the actor named in the audit log, the role that decides what it
 * may do, and how it proved it. Routes read it with `principalOf(request)` (a job's `createdBy`,
 * for instance); it never holds a token or a cookie.
 */

export type Role = "admin" | "read";

/** How the caller proved who it is: a bearer token, the session cookie, or the token of a sign-in. */
export type Via = "bearer" | "session" | "sign-in";

export interface Principal {
  /** "token", "read-token", the name given at sign-in, or the Cloudflare Access identity. */
  readonly actor: string;
  readonly role: Role;
  readonly via: Via;
}

/** GET and HEAD only read; every other method may change state (RFC 9110 §9.2.1 safe methods). */
export function isStateChanging(method: string): boolean {
  return method !== "GET" && method !== "HEAD";
}

// Keyed by the request object itself: the router hands the same object to every route.
const principals = new WeakMap<Request, Principal>();

/** Records the caller of a request that passed the gate, for its route (src/admin/actor.ts). */
export function rememberPrincipal(request: Request, principal: Principal): void {
  principals.set(request, principal);
}

/** The authenticated caller of an admin request that passed the gate; undefined before it. */
export function principalOf(request: Request): Principal | undefined {
  return principals.get(request);
}
