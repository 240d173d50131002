/**
 * Standard Webhooks senders (https://www.standardwebhooks.com, spec "Verifying webhook
 * authenticity"): headers `webhook-id`, `webhook-timestamp` (Unix s) and `webhook-signature`, one
 * or more space-separated `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<raw body>")>`, key =
 * the standard base64 after `whsec_`. Any `v1` signature made with any of the source's secrets
 * passes; the timestamp must be within the window either way. The checks themselves are the
 * gateway's own Standard Webhooks module (../../verify/standard-webhooks.ts), which also signs
 * what the gateway sends. Docs: docs/providers/standard-webhooks.md.
 */
import { DEFAULT_TOLERANCE_SECONDS, verifyStandardWebhook } from "../../verify/standard-webhooks";
import type { Verifier } from "../../verify/types";

export const STANDARD_WEBHOOKS_DEFAULT_TOLERANCE_SECONDS = DEFAULT_TOLERANCE_SECONDS;

export interface StandardWebhooksOptions {
  /** Accepted clock difference in seconds, either way (default 300, the spec's; at most 1800). */
  readonly toleranceSeconds?: number | undefined;
}

/** The registry's entry (src/providers/registry.ts). */
export const verifier: Verifier<"standard-webhooks", StandardWebhooksOptions> = {
  name: "standard-webhooks",
  verify: (request, secrets, options) =>
    verifyStandardWebhook({
      body: request.body,
      headers: request.headers,
      secrets,
      now: request.now,
      toleranceSeconds: Math.min(options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS, 1800),
    }),
};
