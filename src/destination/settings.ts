/**
 * The destination object's settings, from the configuration's numbers (src/config.ts NUMBERS,
 * docs/configuration.md): the same for every destination.
 */
import type { GatewayConfig } from "../config";
import type { BreakerSettings } from "./breaker";
import type { BucketSettings } from "./bucket";
import type { WindowSettings } from "./window";

/** How long past the delivery timeout a probe holder has to report its probe. */
export const LEASE_MARGIN_MS = 30_000;

export interface DestinationSettings {
  readonly window: WindowSettings;
  readonly breaker: BreakerSettings;
  readonly bucket: BucketSettings;
  /** An account held for an open breaker or a paused source asks again at least this often. */
  readonly recheckMs: number;
}

export function destinationSettings(config: GatewayConfig): DestinationSettings {
  return {
    window: {
      windowMs: config.breakerWindowSeconds * 1000,
      failurePercent: config.breakerFailurePercent,
      minAttempts: config.breakerMinAttempts,
      consecutiveFailures: config.breakerConsecutiveFailures,
    },
    breaker: {
      probeMs: config.breakerProbeSeconds * 1000,
      probeMaxMs: Math.max(config.breakerProbeSeconds, config.breakerProbeMaxSeconds) * 1000,
      leaseMs: config.deliveryTimeoutMs + LEASE_MARGIN_MS,
    },
    bucket: { maxPerSecond: config.destinationMaxPerSecond, rampMs: config.recoveryRampSeconds * 1000 },
    recheckMs: config.breakerRecheckSeconds * 1000,
  };
}
