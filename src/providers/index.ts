/**
 * The Worker's providers: each registered provider's adapter (./<name>/index.ts), by name. The
 * list of providers is the registry's (./registry.ts); this table exists because the portable
 * webhook-gateway/verify module imports the registry and must not reach the adapters (valibot,
 * schemas), so the Worker reaches them here. Its type holds it to the registry: a registered
 * provider missing here, or a name here the registry lacks, does not compile.
 */
import { provider as cabital } from "./cabital";
import { provider as coins } from "./coins";
import { provider as cregis } from "./cregis";
import { provider as cybavo } from "./cybavo";
import { provider as killb } from "./killb";
import type { Provider } from "./provider";
import { PROVIDER_NAMES, type ProviderName } from "./registry";
import { provider as standardWebhooks } from "./standard-webhooks";

/**
 * Options and payload types are erased here: config parses each source's options with its own
 * provider's schema, and ingress parses each body with the same provider's schema, so the pairs
 * always match at run time.
 */
const erase = <O, P>(provider: Provider<O, P>) => provider as unknown as Provider<unknown, unknown>;

const adapters: { readonly [N in ProviderName]: Provider<unknown, unknown> } = {
  cabital: erase(cabital),
  coins: erase(coins),
  cregis: erase(cregis),
  cybavo: erase(cybavo),
  killb: erase(killb),
  "standard-webhooks": erase(standardWebhooks),
};

/** Name → adapter, in registry order. */
export const providers: { readonly [N in ProviderName]: Provider<unknown, unknown> } = Object.fromEntries(
  PROVIDER_NAMES.map((name) => [name, adapters[name]]),
) as { readonly [N in ProviderName]: Provider<unknown, unknown> };
