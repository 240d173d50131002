/**
 * A ledger's DESTINATIONS binding with hooks around the calls to the real destination objects
 * (test/destination-run.test.ts records them; test/protection/grant-ttl.test.ts notes when each
 * grant came). The real object is always asked; a hook may only note, or replace a take's answer.
 */
import type { Grant, ReportRequest, TakeRequest } from "../../src/destination/contract";

export interface DestinationHooks {
  /** Before a take is sent. */
  readonly beforeTake?: (req: TakeRequest) => void;
  /** With the real answer of a take: what the ledger gets instead (or the same). */
  readonly afterTake?: (req: TakeRequest, grant: Grant) => Grant | Promise<Grant>;
  /** Before a report is sent. */
  readonly beforeReport?: (req: ReportRequest) => void;
}

export function hookedDestinations(real: Env, hooks: DestinationHooks): Env {
  const namespace = real.DESTINATIONS;
  const destinations = {
    idFromName: (name: string) => namespace.idFromName(name),
    get: (id: DurableObjectId) => {
      const stub = namespace.get(id);
      return new Proxy(stub, {
        get: (target, name) => {
          // Called as a method of the stub: an RPC stub's method has no `call` of its own.
          const methods = target as unknown as Record<string, (r: unknown) => Promise<unknown>>;
          if (name === "take")
            return async (req: TakeRequest) => {
              hooks.beforeTake?.(req);
              const grant = (await methods.take!(req)) as Grant;
              return hooks.afterTake === undefined ? grant : hooks.afterTake(req, grant);
            };
          if (name === "report")
            return (req: ReportRequest) => {
              hooks.beforeReport?.(req);
              return methods.report!(req);
            };
          return Reflect.get(target, name);
        },
      });
    },
  };
  return { ...real, DESTINATIONS: destinations } as unknown as Env;
}
