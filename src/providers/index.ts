/** The provider registry: one line per provider. */
import type { ProviderName } from "../event";
import { cabital } from "./cabital";
import { coins } from "./coins";
import { cregis } from "./cregis";
import { cybavo } from "./cybavo";
import { killb } from "./killb";
import type { Provider } from "./provider";

/**
 * Options and payload types are erased here: config parses each source's options with its own
 * provider's schema, and ingress parses each body with the same provider's schema, so the pairs
 * always match at run time.
 */
const erase = <O, P>(provider: Provider<O, P>) => provider as unknown as Provider<unknown, unknown>;

export const providers: Record<ProviderName, Provider<unknown, unknown>> = {
  cybavo: erase(cybavo),
  cregis: erase(cregis),
  killb: erase(killb),
  cabital: erase(cabital),
  coins: erase(coins),
};
