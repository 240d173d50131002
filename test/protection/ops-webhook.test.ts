/**
 * Operational events delivered to the operations webhook (OPS_WEBHOOK_URL: the test origin's
 * /ops path, verified there with OPS_WEBHOOK_SECRET, not ORIGIN_SECRET): each fires once when its
 * condition starts (and again only after it ended and started anew), is signed with the
 * operations secret (checked with the official `standardwebhooks` library), is a CloudEvent (the
 * `cloudevents` SDK) matching schema/ops-events.json, and the operations webhook's own failures,
 * to the point of dead-lettering its events, raise no operational event.
 *
 * What each file stores is its own (its ledgers, its D1), so the events are counted in this
 * file's `~ops/gateway` ledger; the origin, shared by every file, is asked for them by id.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { CloudEvent, HTTP } from "cloudevents";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import committed from "../../schema/ops-events.json" with { type: "json" };
import { advanceClock, now } from "../../src/clock";
import { eventId } from "../../src/ingress";
import { breakerOpened, opsEvent } from "../../src/ops";
import { runScheduled } from "../../src/scheduled";
import { runAlarmNow } from "../support/alarms";
import {
  cybavoCallback,
  cybavoChecksum,
  drain,
  ledger,
  type OriginEvent,
  originAttempts,
  post,
  postCybavo,
  scriptOrigin,
  secrets,
  storedEvents,
  uniqueAccount,
} from "../support/gateway";
import { makeDueIn } from "../support/ledger-sql";

const bindings = env as unknown as Record<string, string>;
const OPS_SECRET = bindings.OPS_WEBHOOK_SECRET!;

const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv);
const validate = ajv.compile(committed);

interface Stored {
  id: string;
  state: string;
  type: string;
  subject: string;
  data: Record<string, unknown>;
}

/** The operational events this file's gateway stored, oldest first (optionally of one type). */
async function opsStored(type?: string): Promise<Stored[]> {
  const rows = await storedEvents("~ops", "gateway");
  const events: Stored[] = [];
  for (const row of rows) {
    const body = (await ledger("~ops", "gateway").event(row.id))!.event.body!;
    const json = JSON.parse(body) as { type: string; subject: string; data: Record<string, unknown> };
    if (type === undefined || json.type === type) events.push({ id: row.id, state: row.state, ...json });
  }
  return events;
}

/** What the operations webhook received of one event, after the feed's outbox ran. */
async function deliveredOps(event: Stored): Promise<OriginEvent[]> {
  await drain("~ops", "gateway");
  const response = await fetch(`${env.TEST_ORIGIN_URL}/_events?subject=${encodeURIComponent(event.subject)}`);
  return ((await response.json()) as OriginEvent[]).filter((e) => e.id === event.id);
}

/** Signed with the operations secret (not the origin's), a CloudEvent, and valid against the published schema. */
function checkDelivery(delivery: OriginEvent, type: string): void {
  expect(new Webhook(OPS_SECRET).verify(delivery.body, delivery.headers)).toMatchObject({ id: delivery.id, type });
  expect(() => new Webhook(secrets.ORIGIN_SECRET).verify(delivery.body, delivery.headers)).toThrow();
  const cloudEvent = HTTP.toEvent({ headers: delivery.headers, body: delivery.body }) as CloudEvent<Record<string, unknown>>;
  expect(cloudEvent).toBeInstanceOf(CloudEvent);
  expect([cloudEvent.specversion, cloudEvent.source, cloudEvent.type, cloudEvent.id]).toEqual([
    "1.0",
    "webhook-gateway",
    type,
    delivery.id,
  ]);
  expect(validate(JSON.parse(delivery.body)), ajv.errorsText(validate.errors)).toBe(true);
}

async function indexedAccount(account: string) {
  return env.INDEX_DB.prepare("SELECT pending, oldest_pending_at AS oldest FROM accounts WHERE source = 'cybavo' AND account = ?")
    .bind(account)
    .first<{ pending: number; oldest: number | null }>();
}

describe("gateway.event.quarantined", () => {
  it("fires once per quarantined callback (a provider's retry is the same event), signed and valid", async () => {
    const body = `not JSON ${uniqueAccount()}`;
    const headers = { "X-CHECKSUM": await cybavoChecksum(body) };
    const before = (await opsStored("gateway.event.quarantined")).length;
    expect((await post("cybavo", body, headers)).status).toBe(200);
    expect((await post("cybavo", body, headers)).status).toBe(200);
    const events = (await opsStored("gateway.event.quarantined")).slice(before);
    expect(events).toHaveLength(1);
    const quarantined = (await storedEvents("cybavo", "~quarantine")).at(-1)!;
    expect(events[0]).toMatchObject({
      subject: `events/${quarantined.id}`,
      data: { source: "cybavo", eventId: quarantined.id, reason: "not JSON" },
    });
    const deliveries = await deliveredOps(events[0]!);
    expect(deliveries).toHaveLength(1);
    checkDelivery(deliveries[0]!, "gateway.event.quarantined");
  });
});

describe("gateway.event.dead_lettered", () => {
  it("fires once when an event is dead-lettered, signed and valid", async () => {
    const wallet = uniqueAccount();
    const callback = cybavoCallback({ wallet_id: wallet });
    await scriptOrigin(String(wallet), [410]);
    expect((await postCybavo("cybavo", callback)).status).toBe(200);
    await drain("cybavo", String(wallet));
    const id = await eventId("cybavo", String(wallet), String(callback.serial));
    const events = (await opsStored("gateway.event.dead_lettered")).filter((e) => e.data.eventId === id);
    expect(events).toEqual([
      expect.objectContaining({
        subject: `events/${id}`,
        data: { source: "cybavo", account: String(wallet), eventId: id, attempts: 1, status: 410, reason: "HTTP 410" },
      }),
    ]);
    const deliveries = await deliveredOps(events[0]!);
    expect(deliveries).toHaveLength(1);
    checkDelivery(deliveries[0]!, "gateway.event.dead_lettered");
  });
});

describe("gateway.backlog.stale", () => {
  it("fires once when an account's oldest pending event passes OPS_BACKLOG_SECONDS, and again only after it drained and went stale anew", async () => {
    const wallet = String(uniqueAccount());
    const threshold = Number(bindings.OPS_BACKLOG_SECONDS ?? 3600) * 1000;
    const stale = async () => (await opsStored("gateway.backlog.stale")).filter((e) => e.data.account === wallet);

    await scriptOrigin(wallet, [503, 503, 503]);
    expect((await postCybavo("cybavo", cybavoCallback({ wallet_id: Number(wallet) }))).status).toBe(200);
    await runAlarmNow(ledger("cybavo", wallet));
    const first = await indexedAccount(wallet);
    expect(first?.pending).toBe(1);

    // Not yet older than the threshold: nothing.
    await runScheduled(env, first!.oldest! + threshold - 1000);
    expect(await stale()).toEqual([]);
    // Older: one event; the next runs, while it lasts, add none.
    await runScheduled(env, first!.oldest! + threshold + 1000);
    await runScheduled(env, first!.oldest! + threshold + 60_000);
    const once = await stale();
    expect(once).toHaveLength(1);
    expect(once[0]).toMatchObject({
      subject: `sources/cybavo/accounts/${wallet}`,
      data: {
        source: "cybavo",
        account: wallet,
        pending: 1,
        oldestPendingAt: new Date(first!.oldest!).toISOString(),
        thresholdSeconds: threshold / 1000,
      },
    });
    const deliveries = await deliveredOps(once[0]!);
    expect(deliveries).toHaveLength(1);
    checkDelivery(deliveries[0]!, "gateway.backlog.stale");

    // It drains: the episode ends at the next run.
    await scriptOrigin(wallet, []);
    await drain("cybavo", wallet);
    expect((await indexedAccount(wallet))?.pending).toBe(0);
    await runScheduled(env, first!.oldest! + threshold + 120_000);
    expect(await stale()).toHaveLength(1);

    // A new event waits too long: a new episode, a second event.
    await scriptOrigin(wallet, [503, 503, 503]);
    expect((await postCybavo("cybavo", cybavoCallback({ wallet_id: Number(wallet) }))).status).toBe(200);
    await runAlarmNow(ledger("cybavo", wallet));
    const second = await indexedAccount(wallet);
    await runScheduled(env, second!.oldest! + threshold + 1000);
    await runScheduled(env, second!.oldest! + threshold + 2000);
    const twice = await stale();
    expect(twice).toHaveLength(2);
    expect(twice[1]!.id).not.toBe(twice[0]!.id);
    expect(twice[1]!.data.oldestPendingAt).toBe(new Date(second!.oldest!).toISOString());
    await scriptOrigin(wallet, []);
    await drain("cybavo", wallet);
  });
});

describe("gateway.source.rejections_high", () => {
  it("fires once when a source's rejections reach OPS_REJECTIONS_THRESHOLD in the window, and again only after a quiet cron run", async () => {
    const threshold = Number(bindings.OPS_REJECTIONS_THRESHOLD ?? 50);
    const high = () => opsStored("gateway.source.rejections_high");
    const forged = async () => expect((await postCybavo("cybavo", cybavoCallback(), "not-the-secret")).status).toBe(401);

    for (let i = 0; i < threshold - 1; i++) await forged();
    expect(await high()).toEqual([]);
    await forged();
    const once = await high();
    expect(once).toEqual([
      expect.objectContaining({
        subject: "sources/cybavo",
        data: { source: "cybavo", rejections: threshold, causes: { bad_signature: threshold }, threshold, windowSeconds: 300 },
      }),
    ]);
    // While it lasts, more rejections raise nothing more.
    for (let i = 0; i < 10; i++) await forged();
    await runScheduled(env, Date.now());
    expect(await high()).toHaveLength(1);
    const deliveries = await deliveredOps(once[0]!);
    expect(deliveries).toHaveLength(1);
    checkDelivery(deliveries[0]!, "gateway.source.rejections_high");

    // A cron run after the window finds the source quiet: the episode ends. The next rejection
    // finds the window (as seen now) over the threshold again: a new episode.
    await runScheduled(env, Date.now() + 301_000);
    await forged();
    const twice = await high();
    expect(twice).toHaveLength(2);
    expect(twice[1]!.id).not.toBe(twice[0]!.id);
  });
});

describe("no loop", () => {
  it("the operations webhook refusing an event dead-letters it and raises nothing about it", async () => {
    const destination = crypto.randomUUID().replaceAll("-", "").slice(0, 16);
    const input = breakerOpened({ destination, url: "https://origin.example/hooks", reason: "test", openedAt: Date.now() });
    await scriptOrigin(input.subject, [410]);
    const before = await opsStored();
    expect(await opsEvent(env, input)).toBe("stored");
    await drain("~ops", "gateway");
    const after = await opsStored();
    const added = after.slice(before.length);
    expect(added.map((e) => [e.subject, e.state])).toEqual([[input.subject, "dead"]]);
    expect((await originAttempts(input.subject)).map((a) => a.status)).toEqual([410]);
    expect(after.filter((e) => e.data.eventId === added[0]!.id)).toEqual([]);
  });

  it("the operations webhook failing for days dead-letters its event: no breaker opens, nothing is raised about it", async () => {
    const destination = crypto.randomUUID().replaceAll("-", "").slice(0, 16);
    const input = breakerOpened({ destination, url: "https://origin.example/hooks", reason: "test", openedAt: Date.now() });
    await scriptOrigin(input.subject, Array(40).fill(503));
    const before = await opsStored();
    expect(await opsEvent(env, input)).toBe("stored");
    const feed = ledger("~ops", "gateway");
    for (let run = 0; run < 40; run++) {
      const added = (await opsStored()).slice(before.length);
      if (added.every((e) => e.state !== "pending")) break;
      // Retries made due now, on a clock four hours later each time: past the two-day window.
      advanceClock(4 * 3600 * 1000);
      await runInDurableObject(feed, (_instance, state) => makeDueIn(state.storage.sql, now()));
      await runAlarmNow(feed);
    }
    const after = await opsStored();
    const added = after.slice(before.length);
    expect(added.map((e) => [e.subject, e.state])).toEqual([[input.subject, "dead"]]);
    // Every attempt reached the webhook signed (the origin records only verified ones) and failed.
    const attempts = (await originAttempts(input.subject)).filter((a) => a.id === added[0]!.id);
    expect(attempts.map((a) => a.status)).toEqual(Array(16).fill(503));
    // Nothing about it (`added` holds it alone): no dead letter naming it, no breaker opened on
    // the webhook's URL (the feed has no destination object).
    expect(after.filter((e) => e.data.eventId === added[0]!.id)).toEqual([]);
  });
});
