/**
 * A destination's Durable Object (binding DESTINATIONS, one object per destination, named by its
 * id: src/destinations.ts). First version: source pauses only; every other take is granted.
 * The breaker and the ceiling follow (docs/operations.md "Origin protection").
 */
import { DurableObject } from "cloudflare:workers";
import { now } from "../clock";
import { loadConfig } from "../config";
import type { DestinationStatus, Grant, ReportRequest, TakeRequest } from "./contract";
import { TAKE_MAX } from "./contract";

export class Destination extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS paused_sources (source TEXT PRIMARY KEY, at INTEGER NOT NULL, by TEXT NOT NULL)");
  }

  async take(req: TakeRequest): Promise<Grant> {
    const paused = this.ctx.storage.sql.exec("SELECT 1 FROM paused_sources WHERE source = ?", req.source).toArray().length > 0;
    if (paused) return { kind: "held", reason: "paused", recheckAt: now() + this.recheckMs() };
    return { kind: "send", count: Math.max(0, Math.min(req.want, TAKE_MAX)), probe: false };
  }

  async report(_req: ReportRequest): Promise<void> {}

  async pauseSource(source: string, by: string): Promise<{ paused: boolean; changed: boolean }> {
    const changed =
      this.ctx.storage.sql.exec("INSERT OR IGNORE INTO paused_sources (source, at, by) VALUES (?, ?, ?)", source, now(), by).rowsWritten >
      0;
    return { paused: true, changed };
  }

  async resumeSource(source: string, _by: string): Promise<{ paused: boolean; changed: boolean }> {
    const changed = this.ctx.storage.sql.exec("DELETE FROM paused_sources WHERE source = ?", source).rowsWritten > 0;
    return { paused: false, changed };
  }

  async status(): Promise<DestinationStatus> {
    const loaded = loadConfig(this.env);
    const max = loaded.ok ? loaded.config.destinationMaxPerSecond : 0;
    const pausedSources = this.ctx.storage.sql
      .exec<{ source: string; at: number; by: string }>("SELECT source, at, by FROM paused_sources ORDER BY source")
      .toArray();
    return {
      id: "",
      state: "closed",
      attempts: 0,
      failures: 0,
      consecutiveFailures: 0,
      openedAt: null,
      nextProbeAt: null,
      probeIntervalMs: null,
      lastError: null,
      lastStatus: null,
      waiting: 0,
      pausedSources,
      ratePerSecond: max,
      maxPerSecond: max,
      history: [],
    };
  }

  private recheckMs(): number {
    const loaded = loadConfig(this.env);
    return (loaded.ok ? loaded.config.breakerRecheckSeconds : 3600) * 1000;
  }
}
