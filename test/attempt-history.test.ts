/**
 * History is never overwritten (docs/operations.md "Event detail"): every delivery attempt of
 * an event stays, with its number, time, outcome, status, error and latency, across redeliveries
 * and replays, wherever the event is stored (a time partition, or `events` once an operator put
 * it back). The common path adds no row: the latest success is the event row itself.
 */
import { describe, expect, it } from "vitest";
import { drain, scriptOrigin, uniqueAccount } from "./support/gateway";
import { acceptInput, ledger } from "./support/ledger-faults";

const SOURCE = "cybavo";

type Attempt = { attempt: number; at: number; outcome: string; status: number | null; error: string | null; ms: number | null };

/** The event's attempts as the admin API lists them, without the times (checked apart). */
async function history(stub: ReturnType<typeof ledger>, id: string) {
  const detail = await stub.event(id);
  const attempts = (detail?.attempts ?? []) as Attempt[];
  // Times go up with the attempt number, and every attempt says how long it took.
  for (const [i, a] of attempts.entries()) {
    expect(a.at).toBeGreaterThan(0);
    if (i > 0) expect(a.at).toBeGreaterThanOrEqual(attempts[i - 1]!.at);
    expect(a.ms).not.toBeNull();
  }
  return attempts.map((a) => [a.attempt, a.outcome, a.status]);
}

describe("attempt history", () => {
  it("a delivered event redelivered twice, failing once in between, keeps all four attempts", async () => {
    const account = `history-${uniqueAccount()}`;
    const stub = ledger(SOURCE, account);
    const input = await acceptInput(SOURCE, account, "a");
    await stub.accept(input);
    await drain(SOURCE, account);
    expect(await history(stub, input.id)).toEqual([[1, "delivered", 200]]);
    await scriptOrigin(account, [503, 200]);
    expect(await stub.redeliver(input.id)).toBe("queued");
    await drain(SOURCE, account);
    expect(await stub.redeliver(input.id)).toBe("queued");
    await drain(SOURCE, account);
    expect(await history(stub, input.id)).toEqual([
      [1, "delivered", 200],
      [2, "retry", 503],
      [3, "delivered", 200],
      [4, "delivered", 200],
    ]);
    const event = (await stub.event(input.id))!.event;
    expect([event.state, event.attempts]).toEqual(["delivered", 4]);
  });

  it("a dead letter redelivered keeps its refused attempt; a replay keeps each event's first delivery", async () => {
    const account = `history-replay-${uniqueAccount()}`;
    const stub = ledger(SOURCE, account);
    const [dead, other] = await Promise.all(["dead", "other"].map((key) => acceptInput(SOURCE, account, key)));
    await scriptOrigin(account, [410, 200]);
    await stub.accept(dead!);
    await stub.accept(other!);
    await drain(SOURCE, account);
    expect(await history(stub, dead!.id)).toEqual([[1, "rejected", 410]]);
    expect(await stub.redeliver(dead!.id)).toBe("queued");
    await drain(SOURCE, account);
    expect(await stub.replay(0)).toBe(2);
    await drain(SOURCE, account);
    expect(await history(stub, dead!.id)).toEqual([
      [1, "rejected", 410],
      [2, "delivered", 200],
      [3, "delivered", 200],
    ]);
    expect(await history(stub, other!.id)).toEqual([
      [1, "delivered", 200],
      [2, "delivered", 200],
    ]);
  });
});
