/**
 * Storage errors are answered and logged as Cloudflare documents them (src/platform-errors.ts):
 * `overloaded` → 503 with a long Retry-After, `retryable` → 503 with a short one, anything else →
 * 503 and an error-level line; never an ack. workerd cannot make a Durable Object overloaded on
 * demand, so the mapping is tested directly, and once through the real Worker with a LEDGER
 * binding whose stubs throw such errors.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { log } from "../src/log";
import { MESSAGE_LIMIT, RETRY_AFTER_SECONDS, storageFailure } from "../src/platform-errors";
import { post, secrets, uniqueAccount } from "./support/gateway";
import { killbSignature } from "./support/kits";

/** An error shaped like the ones the Durable Object runtime throws. */
function platformError(message: string, flags: { overloaded?: boolean; retryable?: boolean; remote?: boolean }): Error {
  return Object.assign(new Error(message), flags);
}

/** Captures every console line as parsed JSON, with the console method that wrote it. */
function captureLogs() {
  const lines: { method: string; line: Record<string, unknown> }[] = [];
  const spies = (["log", "warn", "error"] as const).map((method) =>
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      try {
        lines.push({ method, line: JSON.parse(String(args[0])) as Record<string, unknown> });
      } catch {
        // Not one of the gateway's JSON lines (workerd's own output): not what these tests read.
      }
    }),
  );
  return {
    lines,
    restore: () => {
      for (const spy of spies) spy.mockRestore();
    },
  };
}

describe("storageFailure: error → reply and log line", () => {
  it.each([
    [
      "overloaded",
      { overloaded: true },
      { kind: "overloaded", retryAfterSeconds: 120, level: "warn" },
      { overloaded: true, retryable: false, remote: false, thrownBy: "platform" },
    ],
    [
      "overloaded wins over retryable",
      { overloaded: true, retryable: true },
      { kind: "overloaded", retryAfterSeconds: 120, level: "warn" },
      { overloaded: true, retryable: true, remote: false, thrownBy: "platform" },
    ],
    [
      "retryable",
      { retryable: true },
      { kind: "retryable", retryAfterSeconds: 10, level: "warn" },
      { overloaded: false, retryable: true, remote: false, thrownBy: "platform" },
    ],
    [
      "thrown by the ledger's code",
      { remote: true },
      { kind: "other", retryAfterSeconds: 30, level: "error" },
      { overloaded: false, retryable: false, remote: true, thrownBy: "ledger" },
    ],
    [
      "no flags",
      {},
      { kind: "other", retryAfterSeconds: 30, level: "error" },
      { overloaded: false, retryable: false, remote: false, thrownBy: "unknown" },
    ],
  ])("%s", (_name, flags, expected, fields) => {
    const failure = storageFailure(platformError("Durable Object is overloaded. Requests queued for too long.", flags));
    expect(failure).toEqual({
      ...expected,
      fields: { error: "Error", message: "Durable Object is overloaded. Requests queued for too long.", ...fields },
    });
  });

  it("flags must be exactly true (a truthy string is not the platform's flag)", () => {
    const failure = storageFailure(Object.assign(new Error("x"), { overloaded: "yes", retryable: 1 }));
    expect(failure.kind).toBe("other");
  });

  it("a non-Error value and an overlong message", () => {
    expect(storageFailure("boom").fields).toEqual({
      error: "Error",
      message: "boom",
      overloaded: false,
      retryable: false,
      remote: false,
      thrownBy: "unknown",
    });
    const long = storageFailure(new RangeError("x".repeat(MESSAGE_LIMIT + 50)));
    expect(long.fields.error).toBe("RangeError");
    expect(long.fields.message).toBe(`${"x".repeat(MESSAGE_LIMIT)}…`);
  });

  it("Retry-After grows with how bad the platform says it is", () => {
    expect(RETRY_AFTER_SECONDS.retryable).toBeLessThan(RETRY_AFTER_SECONDS.other);
    expect(RETRY_AFTER_SECONDS.other).toBeLessThan(RETRY_AFTER_SECONDS.overloaded);
  });
});

describe("log levels", () => {
  afterEach(() => vi.restoreAllMocks());

  it("a line without a level is info on console.log; warn and error use their console methods", () => {
    const { lines, restore } = captureLogs();
    log("x", { a: 1 });
    log("y", { level: "warn", b: "2" });
    log("z", { level: "error" });
    restore();
    expect(lines).toEqual([
      { method: "log", line: { msg: "x", level: "info", a: 1 } },
      { method: "warn", line: { msg: "y", level: "warn", b: "2" } },
      { method: "error", line: { msg: "z", level: "error" } },
    ]);
  });
});

describe("through the Worker, with a LEDGER whose calls throw", () => {
  /** The real bindings, except that every Durable Object stub's method rejects with `error`. */
  function failingLedger(error: Error): Env {
    const ledger = new Proxy(env.LEDGER, {
      get(target, property) {
        if (property === "get") return () => new Proxy({}, { get: () => () => Promise.reject(error) });
        const value = Reflect.get(target, property) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    return { ...env, LEDGER: ledger } as Env;
  }

  type Flags = { overloaded?: boolean; retryable?: boolean; remote?: boolean };
  it.each<[string, Flags, string, string]>([
    ["overloaded", { overloaded: true }, "120", "warn"],
    ["retryable", { retryable: true }, "10", "warn"],
    ["neither", { remote: true }, "30", "error"],
  ])("%s → 503 with its Retry-After, and one %s line with the flags and the message", async (_n, flags, retryAfter, level) => {
    const user = `user-${uniqueAccount()}`;
    const body = JSON.stringify({
      id: `evt_${uniqueAccount()}`,
      event: "TRANSACTION",
      action: "UPDATE",
      data: { id: "txn_1", userId: user, type: "DEPOSIT", status: "COMPLETED", amount: "1.00", currency: "USD" },
      attempts: 0,
    });
    const bindings = failingLedger(platformError("Durable Object storage operation exceeded timeout", flags));
    const { lines, restore } = captureLogs();
    let response: Response;
    try {
      response = await post("killb", body, { "x-signature-sha256": await killbSignature(body) }, bindings);
    } finally {
      restore();
    }
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe(retryAfter);
    expect(await response.json()).toEqual({ error: "unavailable" });
    const ingress = lines.filter((l) => l.line.msg === "ingress");
    expect(ingress).toHaveLength(1);
    expect(ingress[0]).toEqual({
      method: level,
      line: expect.objectContaining({
        level,
        source: "killb",
        outcome: "storage_error",
        status: 503,
        error: "Error",
        message: "Durable Object storage operation exceeded timeout",
        overloaded: flags.overloaded === true,
        retryable: flags.retryable === true,
        remote: flags.remote === true,
      }),
    });
    // Nothing of the body or of any secret reaches the log.
    const text = JSON.stringify(lines);
    expect(text).not.toContain(user);
    for (const secret of Object.values(secrets)) expect(text).not.toContain(secret);
  });
});
