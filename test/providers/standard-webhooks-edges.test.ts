/**
 * The standard-webhooks provider's edges (found by an attacker's review): two messages must
 * never merge into one quarantine entry, and the event time is the sender's payload timestamp
 * only when it names a real instant (never a date the gateway shifted, never one outside the
 * published schema's date-time).
 */
import { describe, expect, it } from "vitest";
import { QUARANTINE_ACCOUNT } from "../../src/ingress";
import { hmacSha256, toBase64, utf8 } from "../../src/verify/crypto";
import { prefixed } from "../../src/verify/types";
import { captureLogs, newRows, post, storedEvents } from "../support/gateway";
import { TEST_SECRETS } from "../support/test-config";

const DEFAULT_SOURCE = "standard-webhooks-default";
const SECRET = TEST_SECRETS.STANDARD_WEBHOOKS_SECRET!;
const messageId = () => `msg_${crypto.randomUUID().replaceAll("-", "")}`;

/** Signs exact bytes per the spec: v1,base64(HMAC-SHA256(key, "id.ts." + body)). */
async function signBytes(body: Uint8Array, id: string, seconds = Math.floor(Date.now() / 1000)): Promise<Record<string, string>> {
  const key = Uint8Array.from(atob(SECRET.slice("whsec_".length)), (c) => c.charCodeAt(0));
  const tag = await hmacSha256(key, prefixed(utf8(`${id}.${seconds}.`), body));
  return { "webhook-id": id, "webhook-timestamp": String(seconds), "webhook-signature": `v1,${toBase64(tag)}` };
}

async function send(body: Uint8Array, headers: Record<string, string>) {
  const { result, lines } = await captureLogs(async () => (await post(DEFAULT_SOURCE, body, headers)).status);
  return { status: result, line: lines.find((line) => line.msg === "ingress")! };
}

describe("review 11: standard-webhooks quarantine identity", () => {
  it("two messages (two webhook-ids) with the same non-UTF-8 body are two quarantine entries; a retry of one is a duplicate", async () => {
    // 0xff never occurs in UTF-8; the nonce keeps this body apart from other runs' rows.
    const body = new Uint8Array([...utf8(`{"n":"${crypto.randomUUID()}","x":"`), 0xff, ...utf8('"}')]);
    const before = await storedEvents(DEFAULT_SOURCE, QUARANTINE_ACCOUNT);
    const [a, b] = [messageId(), messageId()];
    const first = await send(body, await signBytes(body, a));
    const second = await send(body, await signBytes(body, b));
    const retry = await send(body, await signBytes(body, a, Math.floor(Date.now() / 1000) - 30));
    expect([first, second, retry].map(({ status, line }) => [status, line.outcome, line.reason, line.duplicate])).toEqual([
      [200, "quarantined", "not UTF-8", false],
      [200, "quarantined", "not UTF-8", false],
      [200, "quarantined", "not UTF-8", true],
    ]);
    expect(retry.line.eventId).toBe(first.line.eventId);
    expect(newRows(before, await storedEvents(DEFAULT_SOURCE, QUARANTINE_ACCOUNT))).toHaveLength(2);
  });
});

describe("review 11: standard-webhooks event time", () => {
  // RFC 3339 date-time as the published schema's `time` (format date-time) requires.
  const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

  it.each([
    ["a day February does not have", "2022-02-30T00:00:00Z"],
    ["hour 24", "2022-11-03T24:00:00Z"],
    ["a year before 1970 that an offset moves before year 0", "0000-01-01T00:00:00+23:59"],
  ])("a payload timestamp naming no real instant (%s) is not the event time: receipt time instead", async (_why, stamp) => {
    const text = JSON.stringify({ type: "contact.created", timestamp: stamp, n: crypto.randomUUID() });
    const before = Date.now();
    const { status, line } = await send(utf8(text), await signBytes(utf8(text), messageId()));
    expect([status, line.outcome]).toEqual([200, "accepted"]);
    const row = (await storedEvents(DEFAULT_SOURCE, "default")).find((r) => r.id === line.eventId)!;
    const time = (JSON.parse(row.body!) as { time: string }).time;
    expect(time).toMatch(RFC3339);
    expect(Date.parse(time)).toBeGreaterThanOrEqual(before - 1);
  });
});
