/**
 * Log levels (issue 11, item 5): an expected outcome is `info` on console.log (a forged or a
 * duplicate callback is what the gateway is built to absorb), and no failure is swallowed: an
 * adapter that throws on a verified body is an `error` line that names it, wherever it throws.
 * The body is kept either way (quarantined under its bytes), so nothing verified is lost.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { loadConfig, type SourceConfig } from "../src/config";
import { parseVerified, quarantineKey } from "../src/ingress";
import { forgetLogWindows, LOG_WINDOW_MS, throttledLine } from "../src/log-throttle";
import { toHex, utf8 } from "../src/verify/crypto";
import { counterDeltas, cybavoCallback, cybavoChecksum, drain, post, uniqueAccount } from "./support/gateway";

interface Line {
  method: "log" | "warn" | "error";
  msg: string;
  level: string;
  [field: string]: unknown;
}

/** Every structured line written during `action`, with the console method that wrote it. */
async function linesOf(action: () => Promise<unknown>): Promise<Line[]> {
  const lines: Line[] = [];
  for (const method of ["log", "warn", "error"] as const) {
    vi.spyOn(console, method).mockImplementation((text: unknown) => {
      const parsed = typeof text === "string" && text.startsWith("{") ? (JSON.parse(text) as Line) : undefined;
      if (parsed !== undefined) lines.push({ ...parsed, method });
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

function source(name: string): SourceConfig {
  const loaded = loadConfig(env);
  if (!loaded.ok) throw new Error(loaded.errors.join("; "));
  const found = loaded.config.sources.get(name);
  if (found === undefined) throw new Error(`no test source ${name}`);
  return found;
}

/** A source whose adapter throws a TypeError at `step`; otherwise the real adapter. */
function throwingAt(name: string, step: "normalize" | "signedContent"): SourceConfig {
  const real = source(name);
  const boom = () => {
    throw new TypeError(`test: ${step} throws`);
  };
  return { ...real, provider: { ...real.provider, [step]: boom } } as SourceConfig;
}

describe("expected outcomes are info", () => {
  it("a forged callback, an accepted one and its duplicate each write one info line on console.log, nothing else", async () => {
    const wallet = uniqueAccount();
    const body = JSON.stringify(cybavoCallback({ wallet_id: wallet }));
    const checksum = await cybavoChecksum(body);
    const forged = checksum.startsWith("A") ? `B${checksum.slice(1)}` : `A${checksum.slice(1)}`;
    const lines = await linesOf(async () => {
      expect((await post("cybavo", body, { "X-CHECKSUM": forged })).status).toBe(401);
      expect((await post("cybavo", body, { "X-CHECKSUM": checksum })).status).toBe(200);
      expect((await post("cybavo", body, { "X-CHECKSUM": checksum })).status).toBe(200);
    });
    expect(lines.filter((l) => l.msg === "ingress").map((l) => [l.method, l.level, l.outcome, l.reason])).toEqual([
      ["log", "info", "rejected", "bad_signature"],
      ["log", "info", "accepted", undefined],
      ["log", "info", "duplicate", undefined],
    ]);
    expect(lines.filter((l) => l.method !== "log")).toEqual([]);
    await drain("cybavo", String(wallet));
  });

  it("a flood of forged callbacks: one line per source and reason per window, every one counted", async () => {
    const body = JSON.stringify(cybavoCallback({ wallet_id: uniqueAccount() }));
    const checksum = await cybavoChecksum(body);
    let lines: Line[] = [];
    const deltas = await counterDeltas("cybavo", async () => {
      lines = await linesOf(async () => {
        for (let i = 0; i < 5; i++) {
          // Well-formed (base64, right length) and wrong: bad_signature each time.
          const first = "ABCDE"[i] === checksum[0] ? "F" : "ABCDE"[i];
          const forged = `${first}${checksum.slice(1)}`;
          expect((await post("cybavo", body, { "X-CHECKSUM": forged })).status).toBe(401);
        }
        expect((await post("cybavo", body)).status).toBe(401);
      });
    });
    expect(lines.filter((l) => l.msg === "ingress").map((l) => [l.level, l.outcome, l.reason, l.suppressed])).toEqual([
      ["info", "rejected", "bad_signature", undefined],
      ["info", "rejected", "missing_signature", undefined],
    ]);
    expect(deltas.rejected).toBe(6);
  });

  it("404s, 403s and 413s are held back the same way: one line per window, whatever the path names", async () => {
    const lines = await linesOf(async () => {
      for (const path of ["nope", "scan-1", "scan-2"]) expect((await post(path, "{}")).status).toBe(404);
    });
    expect(lines).toEqual([{ method: "log", msg: "ingress", level: "info", source: "nope", outcome: "unknown_source", status: 404 }]);
  });

  it("the window: the first rejection of a source and reason is written, the rest of the window counted, the next line says how many", () => {
    const t = 1_000_000;
    expect(throttledLine("s", "bad_signature", t)).toEqual({ suppressed: 0 });
    expect(throttledLine("s", "bad_signature", t + 1)).toBeUndefined();
    expect(throttledLine("s", "bad_signature", t + LOG_WINDOW_MS - 1)).toBeUndefined();
    // Another source or reason has its own window.
    expect(throttledLine("t", "bad_signature", t + 1)).toEqual({ suppressed: 0 });
    expect(throttledLine("s", "stale_timestamp", t + 1)).toEqual({ suppressed: 0 });
    expect(throttledLine("s", "bad_signature", t + LOG_WINDOW_MS)).toEqual({ suppressed: 2 });
    expect(throttledLine("s", "bad_signature", t + 2 * LOG_WINDOW_MS)).toEqual({ suppressed: 0 });
  });

  it("a callback to a source that does not exist is a 404 and an info line naming the path's source (malformed escapes too)", async () => {
    const lines = await linesOf(async () => {
      expect((await post("nope", "{}")).status).toBe(404);
      forgetLogWindows(); // as a fresh isolate: both lines written
      expect((await post("%E0%A4%A", "{}")).status).toBe(404);
    });
    expect(lines).toEqual([
      { method: "log", msg: "ingress", level: "info", source: "nope", outcome: "unknown_source", status: 404 },
      { method: "log", msg: "ingress", level: "info", source: "%E0%A4%A", outcome: "unknown_source", status: 404 },
    ]);
  });
});

describe("an adapter that throws is an error line naming it, and the body is kept", () => {
  const body = utf8(JSON.stringify(cybavoCallback()));

  it("in normalize: adapter_error at error on console.error; quarantined with the error's name", async () => {
    let parsed: ReturnType<typeof parseVerified> | undefined;
    const lines = await linesOf(async () => {
      parsed = parseVerified(throwingAt("cybavo", "normalize"), body);
    });
    expect(parsed).toEqual({ kind: "quarantine", reason: "normalize failed: TypeError" });
    expect(lines).toEqual([
      {
        method: "error",
        msg: "adapter_error",
        level: "error",
        source: "cybavo",
        provider: "cybavo",
        step: "normalize",
        error: "TypeError",
      },
    ]);
  });

  it("in signedContent: adapter_error at error on console.error; the quarantine key falls back to the body's bytes", async () => {
    let key: string | undefined;
    const lines = await linesOf(async () => {
      key = await quarantineKey(throwingAt("cybavo", "signedContent"), body);
    });
    expect(key).toBe(`raw:${toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", body)))}`);
    expect(lines).toEqual([
      {
        method: "error",
        msg: "adapter_error",
        level: "error",
        source: "cybavo",
        provider: "cybavo",
        step: "signedContent",
        error: "TypeError",
      },
    ]);
  });

  it("a body that is not UTF-8 is no failure of signedContent: the bytes are its identity, no line", async () => {
    const bytes = new Uint8Array([0x7b, 0xff, 0x7d]);
    let key: string | undefined;
    const lines = await linesOf(async () => {
      key = await quarantineKey(throwingAt("cybavo", "signedContent"), bytes);
    });
    expect(key).toBe(`raw:${toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)))}`);
    expect(lines).toEqual([]);
  });
});
