/**
 * The provider registry: the one list of providers, one entry each (its verifier, from the
 * provider's folder). Everything else that lists providers derives from it: the event
 * contract's `provider` values and config's choices (src/event.ts), webhook-gateway/verify
 * (src/verify/index.ts), the Worker's adapters (./index.ts, which the compiler holds to this
 * list), the tests' sources and kits, `npm run send`, the bench and the verify cases.
 * How to add a provider: docs/architecture.md.
 *
 * Part of the portable module: it imports the folders' `verify.ts` only (Web standards), never
 * their adapters, so webhook-gateway/verify stays free of valibot and adapter code.
 */
import { verifier as cabital } from "./cabital/verify";
import { verifier as coins } from "./coins/verify";
import { verifier as cregis } from "./cregis/verify";
import { verifier as cybavo } from "./cybavo/verify";
import { verifier as killb } from "./killb/verify";
import { verifier as standardWebhooks } from "./standard-webhooks/verify";

/** Name → verifier. The order is the contract's (the event schema's `provider` enum). */
export const VERIFIERS = {
  cybavo,
  cregis,
  killb,
  cabital,
  coins,
  "standard-webhooks": standardWebhooks,
} as const;

export type ProviderName = keyof typeof VERIFIERS;

/** The registered names, in registry order. */
export const PROVIDER_NAMES = Object.keys(VERIFIERS) as readonly ProviderName[] as readonly [ProviderName, ...ProviderName[]];
