/**
 * The delivery ceiling (pure): a token bucket per destination. Tokens come at the rate
 * DESTINATION_MAX_PER_SECOND; the bucket holds at most one second of them (its capacity), so in
 * any w seconds at most rate x w + capacity tokens leave it, net of those given back.
 *
 * After the breaker closes the bucket starts empty (the backlog of every account must not go out
 * as one burst) and the rate ramps linearly from a tenth to full over RECOVERY_RAMP_SECONDS.
 * An account refused for want of tokens is given a time to ask again, staggered by its place in
 * the queue (`reservedUntil` moves by the time its tokens take to come: want / rate at full
 * rate), so the refused accounts come back one after the other instead of all at once.
 */

export interface BucketSettings {
  /** Tokens per second at full rate. */
  readonly maxPerSecond: number;
  /** How long the rate takes to ramp from a tenth to full after a close. */
  readonly rampMs: number;
}

export interface TokenBucket {
  /** Tokens in the bucket at `updatedAt` (fractional: they accrue continuously). */
  readonly tokens: number;
  readonly updatedAt: number;
  /** The end of the queue of refused takes: the time by which their tokens will have come. */
  readonly reservedUntil: number;
  /** When the ramp started (a close); null: full rate. */
  readonly rampFrom: number | null;
}

/** The share of the full rate a ramp starts from. */
const RAMP_START = 0.1;

/** A bucket that never saw a close: full, at full rate. */
export function fullBucket(at: number, settings: BucketSettings): TokenBucket {
  return { tokens: capacityOf(settings.maxPerSecond), updatedAt: at, reservedUntil: at, rampFrom: null };
}

/** The bucket right after the breaker closed: empty, ramping from a tenth. */
export function rampingBucket(at: number): TokenBucket {
  return { tokens: 0, updatedAt: at, reservedUntil: at, rampFrom: at };
}

/** Tokens per second at `at`. */
export function rateAt(bucket: TokenBucket, at: number, settings: BucketSettings): number {
  const { maxPerSecond, rampMs } = settings;
  if (bucket.rampFrom === null || rampMs <= 0 || at >= bucket.rampFrom + rampMs) return maxPerSecond;
  const progress = Math.max(0, at - bucket.rampFrom) / rampMs;
  return maxPerSecond * (RAMP_START + (1 - RAMP_START) * progress);
}

/** One second of tokens, and never less than one (a rate below 1/s still lets one event out). */
function capacityOf(ratePerSecond: number): number {
  return Math.max(1, ratePerSecond);
}

/** Tokens produced between `from` and `to` (the integral of the ramping rate). */
function produced(bucket: TokenBucket, from: number, to: number, settings: BucketSettings): number {
  if (to <= from) return 0;
  const rampEnd = bucket.rampFrom === null ? from : bucket.rampFrom + settings.rampMs;
  let total = 0;
  if (from < rampEnd) {
    const end = Math.min(to, rampEnd);
    total += ((rateAt(bucket, from, settings) + rateAt(bucket, end, settings)) / 2) * ((end - from) / 1000);
  }
  if (to > rampEnd) total += settings.maxPerSecond * ((to - Math.max(from, rampEnd)) / 1000);
  return total;
}

/** The bucket brought forward to `at`. */
function refill(bucket: TokenBucket, at: number, settings: BucketSettings): TokenBucket {
  if (at <= bucket.updatedAt) return bucket;
  const capacity = capacityOf(rateAt(bucket, at, settings));
  const tokens = Math.min(capacity, bucket.tokens + produced(bucket, bucket.updatedAt, at, settings));
  const rampOver = bucket.rampFrom !== null && at >= bucket.rampFrom + settings.rampMs;
  return { ...bucket, tokens, updatedAt: at, rampFrom: rampOver ? null : bucket.rampFrom };
}

export type Take =
  | { readonly bucket: TokenBucket; readonly granted: number }
  /** Nothing granted: ask again at `recheckAt`, this take's place in the queue. */
  | { readonly bucket: TokenBucket; readonly granted: 0; readonly recheckAt: number };

/**
 * Grants up to `want` whole tokens, and at least a tenth of the capacity (or `want`, if less):
 * a trickle of one-token grants would cost an RPC per event. Fewer left: a staggered time to
 * ask again.
 */
export function take(bucket: TokenBucket, want: number, at: number, settings: BucketSettings): Take {
  const current = refill(bucket, at, settings);
  const wanted = Math.max(0, Math.floor(want));
  const least = Math.min(wanted, Math.max(1, Math.floor(capacityOf(rateAt(current, at, settings)) / 10)));
  const granted = Math.min(wanted, Math.floor(current.tokens));
  if (granted > 0 && granted >= least) return { bucket: { ...current, tokens: current.tokens - granted }, granted };
  // Its place in the queue: after the tokens of those refused before it, the time its own
  // tokens take to come (no more than the bucket can hold; the first in the queue counts what is
  // in the bucket already). Computed with the ramp, so the queue drains as fast as tokens come.
  const capacity = capacityOf(rateAt(current, at, settings));
  const queued = current.reservedUntil > at;
  const need = Math.max(0, Math.min(Math.max(1, wanted), capacity) - (queued ? 0 : current.tokens));
  const base = queued ? current.reservedUntil : at;
  const recheckAt = base + Math.max(1, Math.ceil(timeToProduce(current, base, need, settings)));
  return { bucket: { ...current, reservedUntil: recheckAt }, granted: 0, recheckAt };
}

/** Milliseconds from `from` until `amount` tokens have come (the inverse of `produced`). */
function timeToProduce(bucket: TokenBucket, from: number, amount: number, settings: BucketSettings): number {
  if (amount <= 0) return 0;
  const rampEnd = bucket.rampFrom === null ? from : bucket.rampFrom + settings.rampMs;
  if (from < rampEnd) {
    // Linear rate r0 + k x t (tokens per second, t in ms): amount x 1000 = r0 t + k t^2 / 2.
    const r0 = rateAt(bucket, from, settings);
    const k = ((1 - RAMP_START) * settings.maxPerSecond) / settings.rampMs;
    const inRamp = produced(bucket, from, rampEnd, settings);
    if (amount <= inRamp) return k === 0 ? (amount * 1000) / r0 : (-r0 + Math.sqrt(r0 * r0 + 2 * k * amount * 1000)) / k;
    return rampEnd - from + ((amount - inRamp) / settings.maxPerSecond) * 1000;
  }
  return (amount / settings.maxPerSecond) * 1000;
}

/** Tokens a run did not use, back into the bucket (never above its capacity). */
export function giveBack(bucket: TokenBucket, unused: number, at: number, settings: BucketSettings): TokenBucket {
  const current = refill(bucket, at, settings);
  const back = Number.isFinite(unused) && unused > 0 ? Math.floor(unused) : 0;
  return { ...current, tokens: Math.min(capacityOf(rateAt(current, at, settings)), current.tokens + back) };
}
