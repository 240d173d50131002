import { describe, expect, it } from "vitest";
import {
  KILLB_ACCOUNT_STATUS,
  KILLB_CUSTODIAL_STATUS,
  KILLB_RAMP_STATUS,
  KILLB_TRANSACTION_STATUS,
  KILLB_TRANSACTION_TYPE,
  KILLB_USER_STATUS,
} from "../../src/providers/killb";
import rampCreated from "../../src/providers/killb/fixtures/ramp-created.json" with { type: "json" };
import { drain, originEvents, post } from "../support/gateway";
import { killbSignature, kits } from "../support/kits";

const kit = kits.find((k) => k.source === "killb")!;

async function send(callback: Record<string, unknown>) {
  const signed = await kit.sign(callback);
  const response = await post("killb", signed.body, signed.headers);
  expect(response.status).toBe(200);
  expect(await response.text()).toBe('{"received":true}');
}

function envelope(event: string, action: string, data: Record<string, unknown>) {
  return {
    id: `evt_${crypto.randomUUID()}`,
    event,
    action,
    data,
    createdAt: "2025-01-16T00:29:06.813Z",
    updatedAt: "2025-01-16T00:29:06.813Z",
    attempts: 0,
  };
}

/**
 * The mappings as docs/providers/killb.md states them, written out here: expectations taken
 * from the adapter's own tables would pass whatever those tables say.
 */
const DOCUMENTED = {
  ramp: {
    CREATED: "pending",
    CASH_IN_PROCESSING: "processing",
    CASH_IN_COMPLETED: "processing",
    CONVERSION_PROCESSING: "processing",
    CONVERSION_COMPLETED: "processing",
    CASH_OUT_PROCESSING: "processing",
    COMPLETED: "succeeded",
    FAILED: "failed",
    CANCELED: "cancelled",
  },
  user: { PENDING: "pending", ACTIVE: "active", REJECTED: "rejected", SUSPENDED: "suspended" },
  account: { PENDING: "pending", ACTIVE: "active", REJECTED: "rejected", INACTIVE: "suspended" },
  transactionType: { DEPOSIT: "deposit.updated", INTEREST: "deposit.updated", WITHDRAWAL: "withdrawal.updated", FEE: "withdrawal.updated" },
  transactionStatus: {
    CREATED: "pending",
    PENDING: "pending",
    PROCESSING: "processing",
    COMPLETED: "succeeded",
    FAILED: "failed",
    CANCELED: "cancelled",
    CANCELLED: "cancelled",
    REJECTED: "rejected",
  },
  custodial: { ACTIVE: "active", INACTIVE: "suspended", SUSPENDED: "suspended", CLOSED: "closed" },
} as const;

describe("KillB", () => {
  it("a RAMP going CREATED → CASH_IN_PROCESSING → CASH_IN_COMPLETED → COMPLETED on one user arrives in order, amounts exact", async () => {
    const userId = crypto.randomUUID();
    const steps = ["CREATED", "CASH_IN_PROCESSING", "CASH_IN_COMPLETED", "COMPLETED"];
    for (const status of steps) {
      await send(envelope("RAMP", status === "CREATED" ? "CREATE" : "UPDATE", { ...rampCreated.data, userId, status }));
    }
    await drain("killb", userId);
    const received = (await originEvents(userId)).map((e) => e.json);
    expect(received.map((e) => [e.type, e.data.providerStatus, e.data.status])).toEqual([
      ["ramp.updated", "CREATED", "pending"],
      ["ramp.updated", "CASH_IN_PROCESSING", "processing"],
      ["ramp.updated", "CASH_IN_COMPLETED", "processing"],
      ["ramp.updated", "COMPLETED", "succeeded"],
    ]);
    expect(received[0]?.data).toMatchObject({
      amount: { value: "100000", currency: "COP" },
      toAmount: { value: "23.81", currency: "USDC" },
      direction: "ON",
    });
  });

  it("takes amounts from the JSON text: digits a double would change stay exact", async () => {
    const userId = crypto.randomUUID();
    const body = JSON.stringify(
      envelope("RAMP", "UPDATE", { ...rampCreated.data, userId, status: "COMPLETED", transferProof: "0xabc" }),
    ).replace('"toAmount":23.81', '"toAmount":0.10000000000000000555');
    expect((await post("killb", body, { "x-signature-sha256": await killbSignature(body) })).status).toBe(200);
    await drain("killb", userId);
    const received = await originEvents(userId);
    expect(received).toHaveLength(1);
    const [event] = received;
    expect(event?.json.data).toMatchObject({ toAmount: { value: "0.10000000000000000555" }, transferProof: "0xabc" });
    expect(event?.body).toContain('"toAmount":0.10000000000000000555');
  });

  it("maps every documented status and type of every event kind, and DELETE", async () => {
    // Every value the adapter maps is a documented one (a new value needs its docs row).
    expect(
      [
        KILLB_RAMP_STATUS,
        KILLB_USER_STATUS,
        KILLB_ACCOUNT_STATUS,
        KILLB_TRANSACTION_TYPE,
        KILLB_TRANSACTION_STATUS,
        KILLB_CUSTODIAL_STATUS,
      ].map((table) => Object.keys(table).sort()),
    ).toEqual(
      [
        DOCUMENTED.ramp,
        DOCUMENTED.user,
        DOCUMENTED.account,
        DOCUMENTED.transactionType,
        DOCUMENTED.transactionStatus,
        DOCUMENTED.custodial,
      ].map((table) => Object.keys(table).sort()),
    );
    const userId = crypto.randomUUID();
    const expected: [string, string][] = [];
    for (const [status, normalized] of Object.entries(DOCUMENTED.ramp)) {
      await send(envelope("RAMP", "UPDATE", { ...rampCreated.data, userId, status }));
      expected.push(["ramp.updated", normalized]);
    }
    for (const [status, normalized] of Object.entries(DOCUMENTED.user)) {
      await send(envelope("USER", "UPDATE", { id: userId, status, accessLevel: "L1" }));
      expected.push(["customer.updated", normalized]);
    }
    await send(envelope("USER", "DELETE", { id: userId, status: "ACTIVE" }));
    expected.push(["customer.updated", "closed"]);
    for (const [status, normalized] of Object.entries(DOCUMENTED.account)) {
      await send(envelope("ACCOUNT", "UPDATE", { id: crypto.randomUUID(), userId, type: "PSE", status }));
      expected.push(["payment_account.updated", normalized]);
    }
    for (const [type, eventType] of Object.entries(DOCUMENTED.transactionType)) {
      for (const [status, normalized] of Object.entries(DOCUMENTED.transactionStatus)) {
        await send(envelope("TRANSACTION", "UPDATE", { id: crypto.randomUUID(), userId, type, status, amount: "1.00", currency: "USD" }));
        expected.push([eventType, normalized]);
      }
    }
    for (const [status, normalized] of Object.entries(DOCUMENTED.custodial)) {
      await send(
        envelope("CUSTODIAL_ACCOUNT", "UPDATE", {
          id: "cust_1",
          userId,
          status,
          balance: "5250.00",
          currency: "USD",
          changeAmount: "250.00",
          changeReason: "DEPOSIT",
        }),
      );
      expected.push(["balance.updated", normalized]);
    }
    await drain("killb", userId);
    const received = (await originEvents(userId)).map((e) => [e.json.type, e.json.data.status]);
    expect(received).toEqual(expected);
  });
});
