/**
 * When the ledger prunes (./retention.ts): on a coarse schedule, not on every alarm run. On the
 * first run of an isolate, then when the last prune said the next is due. Between prunes, a new
 * body or key always has one ahead of it: a run after a prune that found nothing retained plans a
 * look PRUNE_EVERY_MS after that prune, and a run that delivered (a body that expires
 * RETENTION_DELIVERED_SECONDS from now) brings a later plan forward to then.
 */
import type { GatewayConfig } from "../config";
import type { Cursors } from "./cursors";
import type { Partitions } from "./partitions";
import { PRUNE_EVERY_MS, prune } from "./retention";
import type { LedgerStorage } from "./storage";

export class PruneSchedule {
  /** When this isolate last pruned; undefined until its first alarm run. */
  private lastAt: number | undefined;

  constructor(
    private readonly storage: LedgerStorage,
    private readonly cursors: Cursors,
    private readonly partitions: Partitions,
  ) {}

  /**
   * Prunes if due (`nextAt`, the plan so far); returns the next plan, never sooner than
   * PRUNE_EVERY_MS after a prune (unless a full batch says more has expired), and brought forward
   * to when what this run delivered expires. Undefined before an isolate's first run, so the
   * first alarm run after a wake prunes.
   */
  runIfDue(config: GatewayConfig, now: number, delivered: boolean, nextAt: number | undefined): number | undefined {
    if (this.lastAt === undefined || (nextAt !== undefined && now >= nextAt)) {
      this.lastAt = now;
      return prune(this.storage, this.cursors, this.partitions, config, now);
    }
    const look = this.lastAt + PRUNE_EVERY_MS;
    const plan = nextAt ?? look;
    return delivered ? Math.min(plan, Math.max(now + config.retentionDeliveredSeconds * 1000, look)) : plan;
  }
}
