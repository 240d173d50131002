/**
 * Entry for the CPU microbenchmark (scripts/bench/cpu.mjs): the gateway's pure path per event,
 * exactly as ingress runs it (verify over raw bytes → parse → validate → normalize), without
 * storage or network. Bundled by esbuild for Node.
 */
import { parseConfig } from "../../src/config";
import { parseVerified } from "../../src/ingress";
import type { SignedRequest } from "../../src/verify/types";

export function sources(env: Record<string, unknown>) {
  const loaded = parseConfig(env);
  if (!loaded.ok) throw new Error(loaded.errors.join("; "));
  return loaded.config.sources;
}

/** One event through the pure path; throws if it does not come out as a forwardable event. */
export async function purePath(
  source: ReturnType<typeof sources> extends ReadonlyMap<string, infer S> ? S : never,
  request: SignedRequest,
): Promise<void> {
  const verified = await source.provider.verify(request, source);
  if (!verified.ok) throw new Error(`${source.name}: ${verified.reason}`);
  const parsed = parseVerified(source, request.body, verified.signed);
  if (parsed.kind !== "event") throw new Error(`${source.name}: ${parsed.reason}`);
}
