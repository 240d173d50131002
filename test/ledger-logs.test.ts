/**
 * The ledger's log lines carry the level of what happened (docs/operations.md "Structured
 * logs"): a delivered event is info, an attempt that will be retried is warn (the origin is
 * failing, the outbox absorbs it), a dead letter is error (it waits for an operator).
 */
import { describe, expect, it } from "vitest";
import { captureLogs, drain, scriptOrigin, uniqueAccount } from "./support/gateway";
import { acceptInput, ledger } from "./support/ledger-faults";

describe("delivery log levels", () => {
  it("503 then 410 for the first event, 200 for the second: warn (retry), error (dead), info (delivered)", async () => {
    const account = `logs-${uniqueAccount()}`;
    const stub = ledger("cybavo", account);
    await scriptOrigin(account, [503, 410, 200]);
    const first = await acceptInput("cybavo", account, "first");
    const second = await acceptInput("cybavo", account, "second");
    const { lines } = await captureLogs(async () => {
      await stub.accept(first);
      await stub.accept(second);
      await drain("cybavo", account);
    });
    const delivery = lines.filter((line) => line.msg === "delivery");
    expect(delivery.map((line) => [line.eventId, line.level, line.outcome, line.result, line.status])).toEqual([
      [first.id, "warn", "retry", "retry", 503],
      [first.id, "error", "rejected", "dead", 410],
      [second.id, "info", "delivered", "delivered", 200],
    ]);
    expect(delivery[0]).toMatchObject({ source: "cybavo", account, attempt: 1, retryInMs: expect.any(Number) });
  });
});
