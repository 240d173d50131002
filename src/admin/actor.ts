/**
 * Who an operator action is recorded as having been done by (an erasure's `reason`, a bulk job's
 * `createdBy`): the caller the admin gate found (src/auth/principal.ts: the Access identity, the
 * name given at sign-in, or "token" for the bearer token).
 */
import { principalOf } from "../auth/principal";

export function actorOf(request: Request): string {
  // Every routed request passed the gate, which records its caller; "unknown" is never expected.
  return principalOf(request)?.actor ?? "unknown";
}
