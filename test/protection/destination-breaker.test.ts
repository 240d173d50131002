/**
 * The destination object (src/destination/): its circuit breaker, its delivery ceiling and its
 * source pauses, with the production defaults (the `protection` project: 70 % of at least 10
 * attempts in 300 s, or 20 in a row; probes every 30 s doubling to 1 h; 100 attempts/s, ramping
 * over 30 s after a close). The pure modules get fast-check properties; the object itself is
 * driven through its RPC methods on the real binding, its time moved with src/clock.ts
 * `advanceClock` and its alarm run with `runDurableObjectAlarm`.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { advanceClock, advanceClockTo, now } from "../../src/clock";
import { loadConfig } from "../../src/config";
import { assignProbe, type Breaker, CLOSED, expireLease, open, releaseProbe, reportProbe, takeProbe } from "../../src/destination/breaker";
import { fullBucket, giveBack, rampingBucket, type TokenBucket, take as takeTokens } from "../../src/destination/bucket";
import type { Grant, OutcomeReport } from "../../src/destination/contract";
import { counts, EMPTY_WINDOW, openReason, record, type WindowSettings } from "../../src/destination/window";
import { breakerClosed, breakerOpened } from "../../src/ops";
import { ledger, storedEvents, unreachableLedgers } from "../support/gateway";

const loaded = loadConfig(env);
if (!loaded.ok) throw new Error(loaded.errors.join("; "));
const config = loaded.config;
/** Every test source delivers to the test origin: one destination. */
const DEST = config.sources.get("cybavo")?.destination.id ?? "";
const LEASE_MS = config.deliveryTimeoutMs + 30_000;

const WINDOW: WindowSettings = {
  windowMs: config.breakerWindowSeconds * 1000,
  failurePercent: config.breakerFailurePercent,
  minAttempts: config.breakerMinAttempts,
  consecutiveFailures: config.breakerConsecutiveFailures,
};
const BREAKER = { probeMs: config.breakerProbeSeconds * 1000, probeMaxMs: config.breakerProbeMaxSeconds * 1000, leaseMs: LEASE_MS };

/** A destination object of its own for each test (the requests name the real destination id). */
function freshDestination() {
  return env.DESTINATIONS.get(env.DESTINATIONS.idFromName(`test/${crypto.randomUUID()}`));
}
type Stub = ReturnType<typeof freshDestination>;

function take(stub: Stub, account: string, source = "cybavo", want = 1): Promise<Grant> {
  return stub.take({ destination: DEST, account, source, want });
}

function report(stub: Stub, account: string, outcome: Partial<OutcomeReport>, source = "cybavo"): Promise<void> {
  return stub.report({ destination: DEST, account, source, report: { ok: 0, failed: 0, trailingFailed: 0, ...outcome } });
}

/** Structured lines with message `msg` written during `action`. */
async function linesOf(msg: string, action: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const lines: Record<string, unknown>[] = [];
  for (const method of ["log", "warn", "error"] as const) {
    vi.spyOn(console, method).mockImplementation((text: unknown) => {
      if (typeof text !== "string" || !text.startsWith("{")) return;
      const line = JSON.parse(text) as Record<string, unknown>;
      if (line.msg === msg) lines.push(line);
    });
  }
  try {
    await action();
  } finally {
    vi.restoreAllMocks();
  }
  return lines;
}

afterEach(() => vi.restoreAllMocks());

/** Wake-ups still queued in the object. */
function pendingWakes(stub: Stub): Promise<number> {
  return runInDurableObject(stub, (_instance, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM wakes").one().n);
}

/** Opens the breaker with 20 failures in a row; returns the time it opened (about). */
async function openBreaker(stub: Stub): Promise<number> {
  await report(stub, "opener", { failed: 20, trailingFailed: 20, lastStatus: 503 });
  const status = await stub.status();
  expect(status.state).toBe("open");
  return status.openedAt ?? 0;
}

/** Moves the clock to the next probe and runs the alarm that assigns it. */
async function toNextProbe(stub: Stub): Promise<void> {
  const { nextProbeAt } = await stub.status();
  if (nextProbeAt === null) throw new Error("no probe scheduled");
  advanceClockTo(nextProbeAt);
  expect(await runDurableObjectAlarm(stub)).toBe(true);
}

describe("when the breaker opens", () => {
  it("opens on 7 failures of 10 attempts in the window, not on 7 of 9 nor on 6 of 10", async () => {
    const stub = freshDestination();
    await report(stub, "acct-a", { ok: 2, failed: 7, trailingFailed: 0 });
    expect((await stub.status()).state).toBe("closed"); // 9 attempts: fewer than 10

    const other = freshDestination();
    await report(other, "acct-a", { ok: 4, failed: 6, trailingFailed: 6 });
    expect((await other.status()).state).toBe("closed"); // 60 %

    await report(stub, "acct-b", { ok: 1, failed: 0, trailingFailed: 0 });
    const status = await stub.status();
    expect(status).toMatchObject({ state: "open", attempts: 10, failures: 7, waiting: 0 });
    expect(status.history).toEqual([{ at: status.openedAt, from: "closed", to: "open", reason: "failure_rate 70% of 10 in 300 s" }]);
    expect(status.nextProbeAt).toBe((status.openedAt ?? 0) + 30_000);
    expect(status.probeIntervalMs).toBe(30_000);

    const before = now();
    const held = await take(stub, "acct-c");
    expect(held).toMatchObject({ kind: "held", reason: "open" });
    const recheckIn = held.kind === "held" ? held.recheckAt - before : 0;
    expect(recheckIn).toBeGreaterThanOrEqual(3_600_000);
    expect(recheckIn).toBeLessThan(3_605_000);
    expect((await stub.status()).waiting).toBe(1);
  });

  it("outcomes older than the window no longer count", async () => {
    const stub = freshDestination();
    await report(stub, "acct-a", { ok: 0, failed: 9, trailingFailed: 9 });
    advanceClock(config.breakerWindowSeconds * 1000 + 10_000);
    await report(stub, "acct-a", { ok: 1, failed: 0, trailingFailed: 0 });
    await report(stub, "acct-a", { ok: 3, failed: 6, trailingFailed: 0 });
    // 6 of 10 in the window; with the 9 older failures it would be 15 of 19 (79 %).
    expect(await stub.status()).toMatchObject({ state: "closed", attempts: 10, failures: 6 });
  });

  it("opens on 20 consecutive failures whatever the rate; an ok in between starts the count again", async () => {
    const stub = freshDestination();
    await report(stub, "acct-a", { ok: 100, failed: 0, trailingFailed: 0 });
    await report(stub, "acct-a", { ok: 0, failed: 19, trailingFailed: 19 });
    await report(stub, "acct-b", { ok: 1, failed: 10, trailingFailed: 10 });
    await report(stub, "acct-b", { ok: 0, failed: 9, trailingFailed: 9 });
    expect(await stub.status()).toMatchObject({ state: "closed", consecutiveFailures: 19 });
    await report(stub, "acct-c", { ok: 0, failed: 1, trailingFailed: 1, lastError: "timeout" });
    const status = await stub.status();
    expect(status).toMatchObject({ state: "open", consecutiveFailures: 20, lastError: "timeout" });
    expect(status.history[0]?.reason).toBe("20 consecutive failures");
  });

  it("4xx and 408/429 never open it: they come as ok or not at all", async () => {
    const stub = freshDestination();
    for (let i = 0; i < 30; i++) await report(stub, `acct-${i % 3}`, { ok: 5, failed: 0, trailingFailed: 0, lastStatus: 404 });
    expect(await stub.status()).toMatchObject({ state: "closed", attempts: 150, failures: 0, consecutiveFailures: 0 });
  });

  it("an unknown destination id is refused (held, rechecked in a probe interval) and logged at error", async () => {
    const stub = freshDestination();
    let grant: Grant | undefined;
    const before = now();
    const lines = await linesOf("destination_unknown", async () => {
      grant = await stub.take({ destination: "00000000000000ff", account: "acct-a", source: "cybavo", want: 10 });
    });
    expect(grant).toMatchObject({ kind: "held", reason: "ceiling" });
    const recheckIn = grant?.kind === "held" ? grant.recheckAt - before : 0;
    expect(recheckIn).toBeGreaterThanOrEqual(30_000);
    expect(recheckIn).toBeLessThan(35_000);
    expect(lines).toEqual([expect.objectContaining({ level: "error", destination: "00000000000000ff" })]);
  });
});

describe("probes", () => {
  it("a probe's success closes the breaker, wakes the waiters, and the ceiling ramps from a tenth", async () => {
    const stub = freshDestination();
    await openBreaker(stub);
    expect(await take(stub, "acct-a")).toMatchObject({ kind: "held", reason: "open" });
    expect(await take(stub, "acct-b")).toMatchObject({ kind: "held", reason: "open" });
    expect(await take(stub, "acct-a")).toMatchObject({ kind: "held", reason: "open" }); // not due yet
    const wakes = await linesOf("destination_wake", () => toNextProbe(stub));
    expect(wakes.map((line) => [line.accounts, line.failed])).toEqual([[1, 0]]); // the probe holder only
    expect((await stub.status()).state).toBe("half_open");
    expect(await take(stub, "acct-b")).toMatchObject({ kind: "held", reason: "open" });
    expect(await take(stub, "acct-a", "cybavo", 50)).toEqual({ kind: "send", count: 1, probe: true });
    expect(await take(stub, "acct-a", "cybavo", 50)).toMatchObject({ kind: "held", reason: "open" }); // one probe
    await report(stub, "acct-a", { ok: 1, failed: 0, trailingFailed: 0, probe: "ok" });

    const status = await stub.status();
    expect(status).toMatchObject({ state: "closed", openedAt: null, nextProbeAt: null, waiting: 0, attempts: 0, failures: 0 });
    expect(status.history.map((t) => [t.from, t.to, t.reason])).toEqual([
      ["half_open", "closed", "probe succeeded"],
      ["open", "half_open", "probe assigned to acct-a"],
      ["closed", "open", "20 consecutive failures"],
    ]);
    expect(status.ratePerSecond).toBeGreaterThanOrEqual(10);
    expect(status.ratePerSecond).toBeLessThan(12);
    expect(status.maxPerSecond).toBe(100);

    // Both waiters are woken, from the alarm.
    const woken = await linesOf("destination_wake", () => runDurableObjectAlarm(stub));
    expect(woken.map((line) => [line.accounts, line.failed])).toEqual([[2, 0]]);

    // The bucket starts empty after a close: one second in, about 11.5 tokens have come.
    advanceClock(1000);
    const grant = await take(stub, "acct-b", "cybavo", 50);
    expect(grant.kind).toBe("send");
    const count = grant.kind === "send" ? grant.count : 0;
    expect(count).toBeGreaterThanOrEqual(11);
    expect(count).toBeLessThanOrEqual(13);
    advanceClock(config.recoveryRampSeconds * 1000);
    expect((await stub.status()).ratePerSecond).toBe(100);
  });

  it("each failed probe doubles the interval, up to BREAKER_PROBE_MAX_SECONDS, one probe per interval", async () => {
    const stub = freshDestination();
    await openBreaker(stub);
    expect(await take(stub, "acct-a")).toMatchObject({ kind: "held", reason: "open" });
    const intervals: number[] = [];
    for (let i = 0; i < 9; i++) {
      await toNextProbe(stub);
      expect(await take(stub, "acct-a")).toEqual({ kind: "send", count: 1, probe: true });
      expect(await take(stub, "acct-a")).toMatchObject({ kind: "held", reason: "open" });
      const reportedAt = now();
      await report(stub, "acct-a", { ok: 0, failed: 1, trailingFailed: 1, probe: "failed", lastStatus: 503 });
      const status = await stub.status();
      expect(status.state).toBe("open");
      expect(status.history[0]?.reason).toBe("probe failed: HTTP 503");
      intervals.push(status.probeIntervalMs ?? 0);
      expect((status.nextProbeAt ?? 0) - reportedAt).toBeGreaterThanOrEqual(status.probeIntervalMs ?? 0);
      expect((status.nextProbeAt ?? 0) - reportedAt).toBeLessThan((status.probeIntervalMs ?? 0) + 5000);
      // Before the next interval, no probe.
      expect(await take(stub, "acct-a")).toMatchObject({ kind: "held", reason: "open" });
    }
    expect(intervals.map((ms) => ms / 1000)).toEqual([60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
  });

  it("a holder that never takes its probe loses it when the lease runs out; the next waiter probes", async () => {
    const stub = freshDestination();
    await openBreaker(stub);
    await take(stub, "acct-a");
    advanceClock(1000);
    await take(stub, "acct-b");
    await toNextProbe(stub);
    expect((await stub.status()).history[0]?.reason).toBe("probe assigned to acct-a");
    expect(await take(stub, "acct-b")).toMatchObject({ kind: "held", reason: "open" });

    advanceClock(LEASE_MS);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const status = await stub.status();
    expect(status.state).toBe("half_open");
    expect(status.history.slice(0, 2).map((t) => t.reason)).toEqual([
      "probe assigned to acct-b",
      "probe lease expired: acct-a did not take it",
    ]);
    expect(await take(stub, "acct-a")).toMatchObject({ kind: "held", reason: "open" });
    expect(await take(stub, "acct-b")).toEqual({ kind: "send", count: 1, probe: true });
  });

  it("a holder that takes its probe and never reports loses it too, and the next probe waits a full interval", async () => {
    const stub = freshDestination();
    await openBreaker(stub);
    await take(stub, "acct-a");
    advanceClock(1000);
    await take(stub, "acct-b");
    await toNextProbe(stub);
    advanceClock(20_000);
    const grantedAt = now();
    expect(await take(stub, "acct-a")).toEqual({ kind: "send", count: 1, probe: true });
    advanceClock(LEASE_MS);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const status = await stub.status();
    expect(status.history[0]?.reason).toBe("probe assigned to acct-b");
    expect(status.history[1]?.reason).toBe("probe lease expired: acct-a did not report it");
    expect(status.history[0]?.at ?? 0).toBeGreaterThanOrEqual(grantedAt + 30_000);
    expect(await take(stub, "acct-b")).toEqual({ kind: "send", count: 1, probe: true });
  });

  it("a probe with nothing countable (probe: none) is handed on at once, the interval not doubled, its holder to the back", async () => {
    const stub = freshDestination();
    await openBreaker(stub);
    for (const account of ["acct-a", "acct-b", "acct-c"]) {
      await take(stub, account);
      advanceClock(1000);
    }
    await toNextProbe(stub);
    expect(await take(stub, "acct-a")).toEqual({ kind: "send", count: 1, probe: true });
    await report(stub, "acct-a", { ok: 0, failed: 0, trailingFailed: 0, probe: "none" });
    let status = await stub.status();
    expect(status).toMatchObject({ state: "half_open", probeIntervalMs: config.breakerProbeSeconds * 1000, waiting: 3 });
    expect(status.history.slice(0, 2).map((t) => t.reason)).toEqual([
      "probe assigned to acct-b",
      "probe released: acct-a had nothing countable",
    ]);
    // acct-b is woken now (not at the next interval) and gets the probe.
    const woken = await linesOf("destination_wake", () => runDurableObjectAlarm(stub));
    expect(woken.map((line) => [line.accounts, line.failed])).toEqual([[1, 0]]);
    expect(await take(stub, "acct-a")).toMatchObject({ kind: "held", reason: "open" });
    expect(await take(stub, "acct-b")).toEqual({ kind: "send", count: 1, probe: true });
    await report(stub, "acct-b", { ok: 0, failed: 0, trailingFailed: 0, probe: "none" });
    expect((await stub.status()).history[0]?.reason).toBe("probe assigned to acct-c");
    expect(await take(stub, "acct-c")).toEqual({ kind: "send", count: 1, probe: true });
    // The round is over when every waiter had its turn: acct-a, released in it, waits for the next interval.
    const releasedAt = now();
    await report(stub, "acct-c", { ok: 0, failed: 0, trailingFailed: 0, probe: "none" });
    status = await stub.status();
    expect(status).toMatchObject({ state: "open", probeIntervalMs: config.breakerProbeSeconds * 1000, waiting: 3 });
    expect(status.history[0]?.reason).toBe("probe released: acct-c had nothing countable");
    expect(status.nextProbeAt ?? 0).toBeGreaterThan(releasedAt);
    expect(await take(stub, "acct-a")).toMatchObject({ kind: "held", reason: "open" });
    // The next interval's probe goes to the one that waited longest since: acct-a; a real probe then counts.
    await toNextProbe(stub);
    expect(await take(stub, "acct-a")).toEqual({ kind: "send", count: 1, probe: true });
    await report(stub, "acct-a", { ok: 0, failed: 1, trailingFailed: 1, probe: "failed", lastStatus: 503 });
    expect((await stub.status()).probeIntervalMs).toBe(config.breakerProbeSeconds * 2000);
  });

  it("a holder that never took its probe keeps waiting: it is woken on close, and on its source's resume", async () => {
    const stub = freshDestination();
    await openBreaker(stub);
    await take(stub, "acct-a");
    advanceClock(1000);
    await take(stub, "acct-b", "killb");
    await toNextProbe(stub);
    expect((await stub.status()).history[0]?.reason).toBe("probe assigned to acct-a");
    advanceClock(LEASE_MS);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await stub.status()).waiting).toBe(2);
    expect(await take(stub, "acct-b", "killb")).toEqual({ kind: "send", count: 1, probe: true });
    await report(stub, "acct-b", { ok: 1, failed: 0, trailingFailed: 0, probe: "ok" }, "killb");
    const woken = await linesOf("destination_wake", () => runDurableObjectAlarm(stub));
    expect(woken.map((line) => [line.accounts, line.failed])).toEqual([[2, 0]]);

    // Paused while it held the probe: its resume wakes it.
    const paused = freshDestination();
    await openBreaker(paused);
    await take(paused, "acct-a");
    advanceClock(1000);
    await take(paused, "acct-b", "killb");
    await toNextProbe(paused);
    await paused.pauseSource("cybavo", "alice@example.com");
    expect(await take(paused, "acct-a")).toMatchObject({ kind: "held", reason: "paused" });
    advanceClock(LEASE_MS);
    expect(await runDurableObjectAlarm(paused)).toBe(true);
    const resumed = await linesOf("source_resumed", () => paused.resumeSource("cybavo", "alice@example.com"));
    expect(resumed.map((line) => line.waiting)).toEqual([1]);
  });

  it("status() keeps the newest 100 transitions, newest first", async () => {
    const stub = freshDestination();
    await openBreaker(stub);
    await take(stub, "acct-a");
    for (let i = 0; i < 50; i++) {
      await toNextProbe(stub);
      expect(await take(stub, "acct-a")).toMatchObject({ kind: "send", probe: true });
      await report(stub, "acct-a", { ok: 0, failed: 1, trailingFailed: 1, probe: "failed", lastError: `network error ${i}` });
    }
    const { history } = await stub.status();
    expect(history).toHaveLength(100); // 1 open + 50 x (assigned, failed) = 101 made
    expect(history[0]?.reason).toBe("probe failed: network error 49");
    expect(history[99]?.reason).toBe("probe assigned to acct-a");
    expect(history.every((t, i) => i === 0 || t.at <= (history[i - 1]?.at ?? 0))).toBe(true);
  });
});

/** Runs the object's alarm until its stored operational events are all emitted. */
async function emitNotices(stub: Stub): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const left = await runInDurableObject(
      stub,
      (_instance, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM notices").one().n,
    );
    if (left === 0) return;
    if (!(await runDurableObjectAlarm(stub))) await scheduler.wait(20);
  }
  throw new Error("operational events still pending");
}

/** The operational events of `type` stored for this destination whose `data.openedAt` is `openedAt`. */
async function opsEvents(type: string, openedAt: number): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  for (const row of await storedEvents("~ops", "gateway")) {
    const body = JSON.parse((await ledger("~ops", "gateway").event(row.id))?.event.body ?? "{}") as Record<string, unknown>;
    const data = body.data as Record<string, unknown> | undefined;
    if (body.type === type && data?.destination === DEST && data.openedAt === new Date(openedAt).toISOString()) found.push(body);
  }
  return found;
}

describe("operational events", () => {
  it("an opening and its close are one gateway.breaker.opened and one gateway.breaker.closed, even when emitted twice", async () => {
    const stub = freshDestination();
    const openedAt = await openBreaker(stub);
    await emitNotices(stub);
    const url = config.destinations.get(DEST)?.url ?? "";
    const opened = breakerOpened({ destination: DEST, url, reason: "20 consecutive failures", openedAt });
    expect(await opsEvents("gateway.breaker.opened", openedAt)).toEqual([
      expect.objectContaining({ subject: opened.subject, data: opened.data }),
    ]);

    await take(stub, "acct-a");
    await toNextProbe(stub);
    await take(stub, "acct-a");
    await report(stub, "acct-a", { ok: 1, failed: 0, trailingFailed: 0, probe: "ok" });
    const closedAt = (await stub.status()).history[0]?.at ?? 0;
    // A crash between the emit and its delete sends it again: the key makes it the same event.
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec("INSERT INTO notices (notice) VALUES (?)", JSON.stringify({ type: "closed", openedAt, closedAt }));
    });
    await emitNotices(stub);
    const closed = breakerClosed({ destination: DEST, url, openedAt, closedAt });
    expect(await opsEvents("gateway.breaker.closed", openedAt)).toEqual([
      expect.objectContaining({ subject: closed.subject, data: closed.data }),
    ]);
    expect(await opsEvents("gateway.breaker.opened", openedAt)).toHaveLength(1);
  });
});

describe("operational events when the ops ledger fails", () => {
  it("keeps a breaker notice the ops ledger could not store and stores it on a later alarm", async () => {
    const stub = freshDestination();
    const openedAt = await openBreaker(stub);
    const pending = () =>
      runInDurableObject(stub, (_instance, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM notices").one().n);
    // The alarm runs with ledgers that cannot be reached: the notice stays.
    await runInDurableObject(stub, (instance) => {
      (instance as unknown as { env: Env }).env = unreachableLedgers();
    });
    await runDurableObjectAlarm(stub);
    expect(await pending()).toBe(1);
    expect(await opsEvents("gateway.breaker.opened", openedAt)).toHaveLength(0);
    await runInDurableObject(stub, (instance) => {
      (instance as unknown as { env: Env }).env = env;
    });
    await emitNotices(stub);
    expect(await opsEvents("gateway.breaker.opened", openedAt)).toHaveLength(1);
  });
});

describe("the delivery ceiling", () => {
  it("grants at most rate x w + capacity in w, staggers refusals by want/rate, and takes unused tokens back", async () => {
    const stub = freshDestination();
    const started = Date.now();
    let granted = 0;
    const refusals: number[] = [];
    for (let i = 0; i < 8; i++) {
      const grant = await take(stub, `acct-${i}`, "cybavo", 50);
      if (grant.kind === "send") granted += grant.count;
      else {
        expect(grant.reason).toBe("ceiling");
        refusals.push(grant.recheckAt);
      }
    }
    const elapsed = Date.now() - started;
    expect(granted).toBeLessThanOrEqual(100 + Math.ceil((100 * elapsed) / 1000));
    expect(granted).toBeGreaterThanOrEqual(100);
    // Below a tenth of the capacity (10 tokens) nothing is granted, and the refused come back one
    // after the other, 50 / 100 per second = 500 ms apart.
    expect(refusals.length).toBeGreaterThanOrEqual(2);
    expect(refusals.slice(1).map((at, i) => at - (refusals[i] ?? 0))).toEqual(refusals.slice(1).map(() => 500));
    expect((await stub.status()).waiting).toBe(0); // ceiling refusals are not kept

    await report(stub, "acct-0", { ok: 20, failed: 0, trailingFailed: 0, unused: 30 });
    const back = await take(stub, "acct-0", "cybavo", 50);
    const count = back.kind === "send" ? back.count : 0;
    expect(count).toBeGreaterThanOrEqual(30);
    expect(count).toBeLessThanOrEqual(30 + Math.ceil((100 * (Date.now() - started)) / 1000));
  });
});

describe("source pauses", () => {
  it("holds a paused source's accounts (others flow), and wakes them on resume, 50 per alarm run", async () => {
    const stub = freshDestination();
    expect(await stub.pauseSource("cybavo", "alice@example.com")).toEqual({ paused: true, changed: true });
    const pausedAt = now();
    expect(await stub.pauseSource("cybavo", "bob@example.com")).toEqual({ paused: true, changed: false });
    for (let i = 0; i < 60; i++) expect(await take(stub, `cybavo/acct-${i}`)).toMatchObject({ kind: "held", reason: "paused" });
    expect(await take(stub, "killb/acct-0", "killb", 5)).toEqual({ kind: "send", count: 5, probe: false });
    const status = await stub.status();
    expect(status.waiting).toBe(60);
    expect(status.pausedSources).toHaveLength(1);
    expect(status.pausedSources[0]).toMatchObject({ source: "cybavo", by: "alice@example.com" });
    expect(pausedAt - (status.pausedSources[0]?.at ?? 0)).toBeLessThan(1000);

    let woken = 0;
    const lines = await linesOf("destination_wake", async () => {
      expect(await stub.resumeSource("cybavo", "alice@example.com")).toEqual({ paused: false, changed: true });
      expect(await stub.resumeSource("cybavo", "alice@example.com")).toEqual({ paused: false, changed: false });
      // The runtime may run the alarm (due now) before this loop does: count what was woken, whoever ran it.
      for (let i = 0; i < 50 && woken < 60; i++) {
        if (!(await runDurableObjectAlarm(stub))) await scheduler.wait(20);
        woken = 60 - (await pendingWakes(stub));
      }
    });
    expect(lines.map((line) => [line.accounts, line.failed])).toEqual([
      [50, 0],
      [10, 0],
    ]);
    expect(await stub.status()).toMatchObject({ waiting: 0, pausedSources: [] });
    expect(await take(stub, "cybavo/acct-0")).toEqual({ kind: "send", count: 1, probe: false });
  }, 30_000);
});

describe("wake-ups that fail", () => {
  it("are kept and sent again after 30 s, doubling, so a resume reaches every account", async () => {
    const stub = freshDestination();
    await stub.pauseSource("cybavo", "alice@example.com");
    for (let i = 0; i < 3; i++) await take(stub, `cybavo/acct-${i}`);
    await runInDurableObject(stub, (instance) => {
      (instance as unknown as { env: Env }).env = unreachableLedgers();
    });
    const failed = await linesOf("destination_wake", async () => {
      await stub.resumeSource("cybavo", "alice@example.com");
      await runDurableObjectAlarm(stub);
    });
    expect(failed.map((line) => [line.accounts, line.failed])).toEqual([[3, 3]]);
    expect(await pendingWakes(stub)).toBe(3);
    // Still unreachable 30 s later: kept again, next try 60 s later.
    advanceClock(30_000);
    const again = await linesOf("destination_wake", () => runDurableObjectAlarm(stub));
    expect(again.map((line) => [line.accounts, line.failed])).toEqual([[3, 3]]);
    await runInDurableObject(stub, (instance) => {
      (instance as unknown as { env: Env }).env = env;
    });
    advanceClock(30_000);
    expect(await linesOf("destination_wake", () => runDurableObjectAlarm(stub))).toEqual([]);
    expect(await pendingWakes(stub)).toBe(3);
    advanceClock(30_000);
    const sent = await linesOf("destination_wake", () => runDurableObjectAlarm(stub));
    expect(sent.map((line) => [line.accounts, line.failed])).toEqual([[3, 0]]);
    expect(await pendingWakes(stub)).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties of the pure modules.

const reportArb = fc
  .record({ ok: fc.nat(30), failed: fc.nat(30), gapMs: fc.nat(200_000) })
  .chain((r) =>
    fc.record({ ok: fc.constant(r.ok), failed: fc.constant(r.failed), gapMs: fc.constant(r.gapMs), trailing: fc.nat(r.failed) }),
  )
  .map((r) => ({ ...r, trailingFailed: r.ok === 0 ? r.failed : r.trailing }));

describe("the outcome window (properties)", () => {
  it("never opens with fewer than BREAKER_MIN_ATTEMPTS in the window unless BREAKER_CONSECUTIVE_FAILURES failed in a row", () => {
    fc.assert(
      fc.property(fc.array(reportArb, { maxLength: 60 }), (reports) => {
        let window = EMPTY_WINDOW;
        let at = 1_700_000_000_000;
        for (const r of reports) {
          at += r.gapMs;
          window = record(window, at, r, WINDOW);
          if (openReason(window, at, WINDOW) === null) continue;
          const { attempts, failures } = counts(window, at, WINDOW);
          const byRate = attempts >= WINDOW.minAttempts && failures * 100 >= WINDOW.failurePercent * attempts;
          expect(byRate || window.consecutive >= WINDOW.consecutiveFailures).toBe(true);
        }
      }),
    );
  });

  it("counts the failures in a row exactly as the attempts came", () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.boolean(), { maxLength: 40 }), { maxLength: 30 }), (batches) => {
        let window = EMPTY_WINDOW;
        let run = 0;
        for (const batch of batches) {
          for (const ok of batch) run = ok ? 0 : run + 1;
          const lastOk = batch.lastIndexOf(true);
          const failed = batch.filter((ok) => !ok).length;
          window = record(
            window,
            1_700_000_000_000,
            { ok: batch.length - failed, failed, trailingFailed: batch.length - 1 - lastOk },
            WINDOW,
          );
          expect(window.consecutive).toBe(run);
        }
      }),
    );
  });

  it("a stream of ok answers (2xx and 4xx) never opens it", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ ok: fc.nat(1000), gapMs: fc.nat(600_000) }), { maxLength: 80 }), (reports) => {
        let window = EMPTY_WINDOW;
        let at = 1_700_000_000_000;
        for (const r of reports) {
          at += r.gapMs;
          window = record(window, at, { ok: r.ok, failed: 0, trailingFailed: 0 }, WINDOW);
          expect(openReason(window, at, WINDOW)).toBeNull();
        }
      }),
    );
  });
});

type Command =
  | { readonly kind: "advance"; readonly ms: number }
  | { readonly kind: "take"; readonly account: number }
  | { readonly kind: "report"; readonly account: number; readonly ok: boolean }
  | { readonly kind: "alarm" }
  | { readonly kind: "open" };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 120_000 }) }),
  fc.record({ kind: fc.constant("take" as const), account: fc.nat(3) }),
  fc.record({ kind: fc.constant("report" as const), account: fc.nat(3), ok: fc.boolean() }),
  fc.constant({ kind: "alarm" as const }),
  fc.constant({ kind: "open" as const }),
);

describe("the breaker (properties)", () => {
  it("grants at most one probe per interval, whatever the sequence of takes, reports and alarms", () => {
    fc.assert(
      fc.property(fc.array(commandArb, { maxLength: 200 }), (commands) => {
        let breaker: Breaker = CLOSED;
        let at = 1_700_000_000_000;
        let waiters = ["acct-0", "acct-1", "acct-2", "acct-3"];
        /** The last probe granted: when, and the interval then in force. */
        let last: { at: number; intervalMs: number } | null = null;
        for (const command of commands) {
          if (command.kind === "advance") at += command.ms;
          else if (command.kind === "open") breaker = open(breaker, at, "test", BREAKER).breaker;
          else if (command.kind === "alarm") {
            const expired = expireLease(breaker, at);
            if (expired.transition !== undefined && breaker.holder !== null) {
              const released = breaker.holder.account;
              waiters = [...waiters.filter((a) => a !== released), released];
            }
            breaker = assignProbe(expired.breaker, at, waiters[0] ?? "acct-0", BREAKER).breaker;
          } else if (command.kind === "take") {
            const result = takeProbe(breaker, `acct-${command.account}`, at, BREAKER);
            if (result.granted) {
              if (last !== null) expect(at - last.at).toBeGreaterThanOrEqual(Math.min(last.intervalMs, BREAKER.probeMs));
              last = { at, intervalMs: breaker.intervalMs ?? 0 };
              if (breaker.openedAt !== null && last !== null) expect(at).toBeGreaterThanOrEqual(breaker.openedAt + BREAKER.probeMs);
            }
            breaker = result.breaker;
          } else {
            const holder = breaker.holder?.account;
            breaker = reportProbe(breaker, `acct-${command.account}`, command.ok ? "ok" : "failed", at, "HTTP 503", BREAKER).breaker;
            if (holder !== undefined && breaker.holder === null) waiters = [...waiters.filter((a) => a !== holder), holder];
          }
          if (breaker.state === "closed") expect(breaker.holder).toBeNull();
          if (breaker.intervalMs !== null) expect(breaker.intervalMs).toBeLessThanOrEqual(BREAKER.probeMaxMs);
        }
      }),
    );
  });

  it("within one opening, probes are at least the interval in force apart, and the interval only grows", () => {
    fc.assert(
      fc.property(
        fc.array(
          commandArb.filter((c) => c.kind !== "open"),
          { maxLength: 200 },
        ),
        (commands) => {
          let at = 1_700_000_000_000;
          let breaker = open(CLOSED, at, "test", BREAKER).breaker;
          let last: { at: number; intervalMs: number } | null = null;
          let interval = breaker.intervalMs ?? 0;
          for (const command of commands) {
            if (breaker.state === "closed") break;
            if (command.kind === "advance") at += command.ms;
            else if (command.kind === "alarm") breaker = assignProbe(expireLease(breaker, at).breaker, at, "acct-0", BREAKER).breaker;
            else if (command.kind === "take") {
              const result = takeProbe(breaker, `acct-${command.account}`, at, BREAKER);
              if (result.granted) {
                if (last !== null) expect(at - last.at).toBeGreaterThanOrEqual(last.intervalMs);
                last = { at, intervalMs: breaker.intervalMs ?? 0 };
              }
              breaker = result.breaker;
            } else if (command.kind === "report")
              breaker = reportProbe(breaker, `acct-${command.account}`, command.ok ? "ok" : "failed", at, "HTTP 500", BREAKER).breaker;
            if (breaker.intervalMs !== null) {
              expect(breaker.intervalMs).toBeGreaterThanOrEqual(interval);
              interval = breaker.intervalMs;
            }
          }
        },
      ),
    );
  });
});

describe("probes with nothing countable (properties)", () => {
  it("a release never changes the interval; kept, the probe's time stays; handed on, it is due now and the round's start is kept", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(commandArb, fc.record({ kind: fc.constant("release" as const), handOn: fc.boolean() })), { maxLength: 200 }),
        (commands) => {
          let at = 1_700_000_000_000;
          let breaker = open(CLOSED, at, "test", BREAKER).breaker;
          for (const command of commands) {
            if (breaker.state === "closed") break;
            if (command.kind === "advance") at += command.ms;
            else if (command.kind === "alarm") breaker = assignProbe(expireLease(breaker, at).breaker, at, "acct-0", BREAKER).breaker;
            else if (command.kind === "take") breaker = takeProbe(breaker, `acct-${command.account}`, at, BREAKER).breaker;
            else if (command.kind === "report")
              breaker = reportProbe(breaker, `acct-${command.account}`, command.ok ? "ok" : "failed", at, "HTTP 500", BREAKER).breaker;
            else if (command.kind === "release") {
              const holder = breaker.holder;
              const step = releaseProbe(breaker, holder?.account ?? "acct-0", at, command.handOn);
              if (step.transition === undefined) expect(holder?.grantedAt ?? null).toBeNull();
              else {
                expect(step.breaker).toMatchObject({ state: "open", holder: null, intervalMs: breaker.intervalMs });
                expect(step.breaker.nextProbeAt).toBe(command.handOn ? at : breaker.nextProbeAt);
                expect(step.breaker.roundAt).toBe(command.handOn ? (breaker.roundAt ?? holder?.assignedAt) : null);
              }
              breaker = step.breaker;
            }
          }
        },
      ),
    );
  });
});

describe("the token bucket (properties and values)", () => {
  it("never lets out more than rate x w + capacity in any window of w, net of the tokens given back", () => {
    const step = fc.record({
      gapMs: fc.integer({ min: 0, max: 3000 }),
      want: fc.integer({ min: 1, max: 50 }),
      giveBack: fc.nat(50),
      close: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.array(step, { maxLength: 120 }), (maxPerSecond, steps) => {
        const settings = { maxPerSecond, rampMs: 30_000 };
        let at = 1_700_000_000_000;
        let bucket: TokenBucket = fullBucket(at, settings);
        const flows: { at: number; net: number }[] = [];
        let outstanding = 0;
        for (const s of steps) {
          at += s.gapMs;
          if (s.close && s.gapMs > 2500) bucket = rampingBucket(at);
          const result = takeTokens(bucket, s.want, at, settings);
          bucket = result.bucket;
          expect(result.granted).toBeLessThanOrEqual(s.want);
          outstanding += result.granted;
          flows.push({ at, net: result.granted });
          const back = Math.min(s.giveBack, outstanding);
          if (back > 0) {
            bucket = giveBack(bucket, back, at, settings);
            outstanding -= back;
            flows.push({ at, net: -back });
          }
        }
        const capacity = Math.max(1, maxPerSecond);
        for (let i = 0; i < flows.length; i++) {
          let net = 0;
          for (let j = i; j < flows.length; j++) {
            net += flows[j]?.net ?? 0;
            const w = (flows[j]?.at ?? 0) - (flows[i]?.at ?? 0);
            expect(net).toBeLessThanOrEqual((maxPerSecond * w) / 1000 + capacity + 1e-9);
          }
        }
      }),
    );
  });

  it("a backlog drains at the ceiling: the refused accounts, asking again when told, finish within 10 % of the time the tokens take", () => {
    /** When `total` tokens have come since a close, the ramp included. */
    const tokensComeBy = (total: number, max: number, rampMs: number) => {
      const inRamp = ((max / 10 + max) / 2) * (rampMs / 1000);
      if (total > inRamp) return rampMs + ((total - inRamp) / max) * 1000;
      const r0 = max / 10;
      const k = (0.9 * max) / rampMs;
      return (-r0 + Math.sqrt(r0 * r0 + 2 * k * total * 1000)) / k;
    };
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 60_000 }),
        (accounts, backlog, maxPerSecond, rampMs) => {
          const settings = { maxPerSecond, rampMs };
          const t0 = 1_700_000_000_000;
          let bucket = rampingBucket(t0);
          const left = Array.from({ length: accounts }, () => backlog);
          const askAt = Array.from({ length: accounts }, () => t0);
          let last = t0;
          for (;;) {
            // The account whose time to ask comes first (each sends its grant at 5 ms an event, then asks again).
            let i = -1;
            for (let j = 0; j < accounts; j++) if ((left[j] ?? 0) > 0 && (i < 0 || (askAt[j] ?? 0) < (askAt[i] ?? 0))) i = j;
            if (i < 0) break;
            const at = askAt[i] ?? t0;
            const result = takeTokens(bucket, Math.min(50, left[i] ?? 0), at, settings);
            bucket = result.bucket;
            if ("recheckAt" in result) askAt[i] = result.recheckAt;
            else {
              left[i] = (left[i] ?? 0) - result.granted;
              askAt[i] = at + result.granted * 5;
              last = Math.max(last, askAt[i] ?? 0);
            }
          }
          const ideal = tokensComeBy(accounts * backlog, maxPerSecond, rampMs);
          expect(last - t0).toBeLessThanOrEqual(ideal * 1.1 + 1000);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("after a close: empty, a tenth of the rate, full after the ramp; refusals queued by the time their tokens take", () => {
    const settings = { maxPerSecond: 100, rampMs: 30_000 };
    const t0 = 1_700_000_000_000;
    let bucket = rampingBucket(t0);
    // The bucket holds 10 then: the first refused waits for 10 tokens at 10/s rising by 3/s each
    // second (883.04 ms), the next for 10 more from there (727.62 ms), both rounded up.
    const first = takeTokens(bucket, 50, t0, settings);
    expect(first).toEqual({ bucket: expect.anything(), granted: 0, recheckAt: t0 + 884 });
    const second = takeTokens(first.bucket, 50, t0, settings);
    expect("recheckAt" in second && second.recheckAt).toBe(t0 + 884 + 728);
    // At full rate, 50 tokens take 500 ms: refusals 500 ms apart.
    const full = fullBucket(t0, settings);
    const drained = takeTokens(takeTokens(full, 50, t0, settings).bucket, 50, t0, settings).bucket;
    const r1 = takeTokens(drained, 50, t0, settings);
    const r2 = takeTokens(r1.bucket, 50, t0, settings);
    expect(["recheckAt" in r1 && r1.recheckAt, "recheckAt" in r2 && r2.recheckAt]).toEqual([t0 + 500, t0 + 1000]);
    bucket = second.bucket;
    // One second in: 10/s rising to 13/s, 11.5 tokens made, 13 the capacity then.
    const oneSecond = takeTokens(bucket, 50, t0 + 1000, settings);
    expect(oneSecond.granted).toBe(11);
    // The whole ramp makes (10 + 100) / 2 x 30 = 1650 tokens; the bucket holds one second of them.
    const ramped = takeTokens(rampingBucket(t0), 50, t0 + 30_000, settings);
    expect(ramped.granted).toBe(50);
    expect(ramped.bucket.tokens).toBe(50);
    // A fresh destination starts full.
    expect(takeTokens(fullBucket(t0, settings), 50, t0, settings).granted).toBe(50);
  });
});
