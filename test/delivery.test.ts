import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { classifyStatus, formatSequence, nextAttemptAt, RETRY, retryAfterMs, retryDelayMs, withSequence } from "../src/delivery";

describe("classifyStatus", () => {
  it.each([
    [200, "delivered"],
    [204, "delivered"],
    [408, "retry"],
    [429, "retry"],
    [500, "retry"],
    [503, "retry"],
    [400, "rejected"],
    [401, "rejected"],
    [404, "rejected"],
    [410, "rejected"],
    [302, "retry"],
  ] as const)("%i → %s", (status, kind) => {
    expect(classifyStatus(status)).toBe(kind);
  });
});

describe("retry schedule", () => {
  it("doubles from 30 s, capped at 8 h, jittered ±20 %", () => {
    expect(retryDelayMs(1, 0.5)).toBe(30_000);
    expect(retryDelayMs(2, 0.5)).toBe(60_000);
    expect(retryDelayMs(1, 0)).toBe(24_000);
    expect(retryDelayMs(1, 0.999999)).toBeLessThanOrEqual(36_000);
    expect(retryDelayMs(14, 0.5)).toBe(8 * 3_600_000); // the documented cap, not the constant under test
  });

  it("spans about two days, then gives up", () => {
    let total = 0;
    for (let attempt = 1; attempt < RETRY.maxAttempts; attempt++) total += retryDelayMs(attempt, 0.5);
    expect(total / 3_600_000).toBeCloseTo(48.5, 0);
    // Without jitter: 16 attempts, the last at the window's end (48 h), then a dead letter.
    const run = simulate(
      () => undefined,
      () => 0.5,
    );
    expect(run.attempts).toBe(16);
    expect(run.deadAt - run.firstAt).toBe(48 * 3_600_000);
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    expect(retryAfterMs("120", 0)).toBe(120_000);
    expect(retryAfterMs(new Date(90_000).toUTCString(), 30_000)).toBe(60_000);
    expect(retryAfterMs("soon", 0)).toBeUndefined();
    expect(retryAfterMs(null, 0)).toBeUndefined();
    // A past date is "now"; a negative number is not a Retry-After value at all (Date.parse
    // alone would read "-5" as the year -5).
    expect(retryAfterMs(new Date(1_000).toUTCString(), 60_000)).toBe(0);
    expect(retryAfterMs("-5", 0)).toBeUndefined();
    expect(retryAfterMs("0", 0)).toBe(0);
  });
});

// The documented policy (docs/events.md), written out rather than read from the constants under test.
const MINUTE = 60_000;
const MIN_WAIT = 1000;
const WINDOW = 48 * 3_600_000;
const PER_MINUTE = 5;
const CAP = 8 * 3_600_000;
const MAX_ATTEMPTS = 16;
const JITTER = 0.2;

/**
 * Runs one event's failures through the schedule, each attempt made exactly when it is due,
 * until it is dead-lettered: `retryAfter(n)` is what the origin's n-th answer says (ms).
 */
function simulate(retryAfter: (attempt: number) => number | undefined, random: () => number) {
  const firstAt = 1_700_000_000_000;
  const times: number[] = [];
  let now = firstAt;
  for (;;) {
    times.push(now);
    const attemptsMade = times.length;
    const anchor = times[attemptsMade - PER_MINUTE];
    const after = retryAfter(attemptsMade);
    const next = nextAttemptAt({
      attemptsMade,
      now,
      firstFailedAt: firstAt,
      ...(anchor !== undefined && { rateAnchorAt: anchor }),
      ...(after !== undefined && { retryAfterMs: after }),
      random: random(),
    });
    if (next === undefined) return { attempts: attemptsMade, times, firstAt, deadAt: now };
    if (attemptsMade > 100_000) throw new Error("never dead-lettered");
    now = next;
  }
}

describe("Retry-After cannot burn the schedule", () => {
  it("Retry-After: 0 on every answer: at least 1 s apart, at most 5 attempts a minute, dead only after two days", () => {
    const run = simulate(
      () => 0,
      () => 0.5,
    );
    const gaps = run.times.slice(1).map((t, i) => t - run.times[i]!);
    expect(Math.min(...gaps)).toBe(MIN_WAIT);
    expect(run.deadAt - run.firstAt).toBe(WINDOW);
    // Five quick attempts, then a wait until a minute after the first of them: 5 per minute.
    expect(run.times.slice(0, 6).map((t) => t - run.firstAt)).toEqual([0, 1000, 2000, 3000, 4000, MINUTE]);
    expect(run.attempts).toBe(5 * (WINDOW / MINUTE) + 1);
  });

  it("Retry-After: 0 sixteen times does not dead-letter the event (the bug: 16 attempts in ~80 ms)", () => {
    const times = [0];
    for (let attempt = 1; attempt <= 16; attempt++) {
      const next = nextAttemptAt({
        attemptsMade: attempt,
        now: times.at(-1)!,
        firstFailedAt: 0,
        ...(times.length >= PER_MINUTE && { rateAnchorAt: times[attempt - PER_MINUTE]! }),
        retryAfterMs: 0,
        random: 0.5,
      });
      expect(next, `after attempt ${attempt}`).toBeDefined();
      times.push(next!);
    }
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(3 * MINUTE);
  });

  it("property: whatever the origin's Retry-After answers, never dead before two days, never two attempts <1 s apart, never 6 in a minute, each wait ≤ 8 h, dead at the first failure past both 16 attempts and two days", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.option(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 2 * CAP })), {
            nil: undefined,
          }),
          {
            minLength: 1,
            maxLength: 40,
          },
        ),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (answers, random) => {
          const run = simulate(
            (n) => answers[(n - 1) % answers.length],
            () => random,
          );
          expect(run.attempts).toBeGreaterThanOrEqual(MAX_ATTEMPTS);
          expect(run.deadAt - run.firstAt).toBeGreaterThanOrEqual(WINDOW);
          // Dead at the first failure where both hold, not later: the previous one lacked one.
          const previous = run.times.at(-2)!;
          expect(run.attempts - 1 < MAX_ATTEMPTS || previous - run.firstAt < WINDOW).toBe(true);
          // Plain loops (a run of Retry-After: 0 makes 14,401 attempts), one assertion each.
          let shortest = Number.POSITIVE_INFINITY;
          let longest = 0;
          let tightestMinute = Number.POSITIVE_INFINITY;
          for (let i = 1; i < run.times.length; i++) {
            const gap = run.times[i]! - run.times[i - 1]!;
            shortest = Math.min(shortest, gap);
            longest = Math.max(longest, gap);
            if (i >= PER_MINUTE) tightestMinute = Math.min(tightestMinute, run.times[i]! - run.times[i - PER_MINUTE]!);
          }
          expect(shortest).toBeGreaterThanOrEqual(MIN_WAIT);
          expect(longest).toBeLessThanOrEqual(CAP * (1 + JITTER));
          if (run.attempts > PER_MINUTE) expect(tightestMinute).toBeGreaterThanOrEqual(MINUTE);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("property: without Retry-After, jitter never dead-letters before two days and adds at most two attempts", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 0.999999, noNaN: true }), { minLength: 20, maxLength: 20 }), (randoms) => {
        let i = 0;
        const run = simulate(
          () => undefined,
          () => randoms[i++ % randoms.length]!,
        );
        // Short jitter reaches the 16th attempt early (38.8 h at the least): up to two more
        // attempts, 8 h apart at most, fill the window; long jitter can pass it before the 16th.
        expect([16, 17, 18]).toContain(run.attempts);
        expect(run.deadAt - run.firstAt).toBeGreaterThanOrEqual(WINDOW);
        expect(run.deadAt - run.firstAt).toBeLessThanOrEqual(WINDOW + CAP * (1 + JITTER) + 100);
      }),
    );
  });

  it("a long Retry-After is cut to 8 h; an event with all its attempts left is never dead", () => {
    expect(nextAttemptAt({ attemptsMade: 1, now: 0, firstFailedAt: 0, retryAfterMs: 30 * 3_600_000, random: 0.5 })).toBe(CAP);
    // Its 16 attempts made long after its first failure (a redelivered dead letter): one try, then dead.
    expect(nextAttemptAt({ attemptsMade: 17, now: 10 * WINDOW, firstFailedAt: 0, random: 0.5 })).toBeUndefined();
    expect(nextAttemptAt({ attemptsMade: 3, now: 10 * WINDOW, firstFailedAt: 0, random: 0.5 })).toBeDefined();
  });
});

describe("sequence", () => {
  it("is 19 zero-padded digits: text order is number order", () => {
    expect(formatSequence(1)).toBe("0000000000000000001");
    expect(formatSequence(Number.MAX_SAFE_INTEGER)).toBe("0009007199254740991");
    fc.assert(
      fc.property(fc.nat(), fc.nat(), (a, b) => {
        expect(formatSequence(a) < formatSequence(b)).toBe(a < b);
      }),
    );
  });

  it("is spliced into the stored CloudEvent without changing anything else", () => {
    const body = '{"specversion":"1.0","id":"evt_00000000000000000000000000000000","data":{"sequence":"x"}}';
    const sent = withSequence(body, 42);
    expect(sent).toBe(
      '{"specversion":"1.0","sequence":"0000000000000000042","id":"evt_00000000000000000000000000000000","data":{"sequence":"x"}}',
    );
    expect(JSON.parse(sent)).toEqual({ ...JSON.parse(body), sequence: "0000000000000000042" });
    expect(JSON.parse(withSequence("{}", 7))).toEqual({ sequence: "0000000000000000007" });
  });
});
