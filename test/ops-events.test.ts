/**
 * Operational events (src/ops/, docs/ops-events.md) as stored, without a webhook to deliver to:
 * the published schema is what src/ops/events.ts defines, every event the builders make is
 * stored once per key and validates against it, URLs lose their query and credentials, nothing is
 * emitted about the operations feed itself, and nothing at all without OPS_WEBHOOK_URL. Delivery,
 * signing and the conditions are in test/protection/ops-webhook.test.ts.
 */
import { env } from "cloudflare:workers";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import committed from "../schema/ops-events.json" with { type: "json" };
import { withSequence } from "../src/delivery";
import {
  backlogStale,
  breakerClosed,
  breakerOpened,
  deadLettered,
  type OpsEventInput,
  opsEvent,
  opsEventId,
  quarantined,
  rejectionsHigh,
} from "../src/ops";
import { opsEventsJsonSchema } from "../src/ops/schema";
import { redactedUrl } from "../src/redact-url";
import { ledger, storedEvents } from "./support/gateway";

/** The gateway's bindings with an operations webhook configured (nothing listens there: these tests read what is stored). */
const opsEnv = {
  ...env,
  OPS_WEBHOOK_URL: "http://127.0.0.1:9/ops",
  OPS_WEBHOOK_SECRET: "whsec_dGVzdC1vcHMtd2ViaG9vay1zZWNyZXQtZm9yLXRlc3Rz",
} as Env;

const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv);
const validate = ajv.compile(committed);

const hex = (length: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${length}}$`));
const time = fc.integer({ min: 1_600_000_000_000, max: 2_000_000_000_000 });
const name = fc.string({ minLength: 1, maxLength: 20 });
const url = fc.webUrl({ withQueryParameters: true, withFragments: true, authoritySettings: { withUserInfo: true, withPort: true } });

/** Every builder, with arbitrary facts. */
const anyInput: fc.Arbitrary<OpsEventInput> = fc.oneof(
  fc.record({ destination: hex(16), url, reason: name, openedAt: time }).map(breakerOpened),
  fc.record({ destination: hex(16), url, openedAt: time, closedAt: time }).map(breakerClosed),
  fc
    .record({
      source: name,
      account: name,
      eventId: hex(32).map((h) => `evt_${h}`),
      attempts: fc.nat(100),
      status: fc.option(fc.integer({ min: 100, max: 599 })),
      reason: name,
    })
    .map(deadLettered),
  fc.record({ source: name, eventId: hex(32).map((h) => `evt_${h}`), reason: name, receivedAt: time }).map(quarantined),
  fc
    .record({
      source: name,
      rejections: fc.nat(10_000),
      causes: fc.dictionary(fc.constantFrom("bad_signature", "stale_timestamp", "too_large"), fc.nat(1000)),
      threshold: fc.nat(1000),
      windowSeconds: fc.nat(3600),
      startedAt: time,
    })
    .map(rejectionsHigh),
  fc
    .record({
      source: name,
      account: name,
      pending: fc.nat(10_000),
      oldestPendingAt: time,
      thresholdSeconds: fc.nat(86_400),
      startedAt: time,
    })
    .map(backlogStale),
);

describe("schema/ops-events.json", () => {
  it("is what src/ops/events.ts defines (run `npm run schema` after changing an operational event)", () => {
    expect(committed).toEqual(opsEventsJsonSchema());
  });
});

describe("opsEvent", () => {
  it("stores each occurrence once, under the id its key names, as a CloudEvent the published schema accepts", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(anyInput, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(5), { maxLength: 6 }),
        async (inputs, repeats) => {
          const before = await storedEvents("~ops", "gateway");
          // Each input once, then some of them again (a retried call, a second isolate's check).
          const calls = [...inputs, ...repeats.map((i) => inputs[i % inputs.length]!)];
          for (const input of calls) expect(await opsEvent(opsEnv, input)).toBe("stored");
          const after = await storedEvents("~ops", "gateway");
          const known = new Set(before.map((row) => row.id));
          const added = after.filter((row) => !known.has(row.id));
          const keys = new Set(inputs.map((input) => input.key));
          const wanted = new Set(await Promise.all([...keys].map((key) => opsEventId(key))));
          // Arbitrary facts can repeat an earlier run's occurrence: that one is already stored.
          const fresh = [...wanted].filter((id) => !known.has(id));
          expect(added.map((row) => row.id).sort()).toEqual(fresh.sort());
          for (const row of added) {
            const stored = await ledger("~ops", "gateway").event(row.id);
            const body = JSON.parse(withSequence(stored!.event.body!, row.seq)) as Record<string, unknown>;
            expect(validate(body), ajv.errorsText(validate.errors)).toBe(true);
            const input = inputs.find((i) => i.key === row.idempotency_key)!;
            expect(body).toMatchObject({
              id: row.id,
              type: input.type,
              subject: input.subject,
              source: "webhook-gateway",
              data: input.data,
            });
            expect(row.source).toBe("~ops");
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("shows a destination's URL as origin and path only: never its query, fragment or credentials", () => {
    fc.assert(
      fc.property(url, (raw) => {
        const shown = redactedUrl(raw);
        const parsed = new URL(raw);
        expect(shown).toBe(`${parsed.origin}${parsed.pathname}`);
        const again = new URL(shown);
        expect([again.username, again.password, again.search, again.hash]).toEqual(["", "", "", ""]);
      }),
    );
    expect(
      breakerOpened({ destination: "0123456789abcdef", url: "https://u:p@origin.example/hooks?token=s3cret#x", reason: "r", openedAt: 0 })
        .data,
    ).toMatchObject({
      url: "https://origin.example/hooks",
    });
  });

  it("emits nothing about the operations feed itself (its dead letters), and nothing without OPS_WEBHOOK_URL", async () => {
    const before = (await storedEvents("~ops", "gateway")).length;
    const aboutOps = deadLettered({
      source: "~ops",
      account: "gateway",
      eventId: `evt_${"a".repeat(32)}`,
      attempts: 16,
      status: 503,
      reason: "HTTP 503",
    });
    expect(await opsEvent(opsEnv, aboutOps)).toBe("skipped");
    const ordinary = deadLettered({
      source: "cybavo",
      account: "7",
      eventId: `evt_${"b".repeat(32)}`,
      attempts: 16,
      status: 503,
      reason: "HTTP 503",
    });
    // This project's bindings have no OPS_WEBHOOK_URL.
    expect(await opsEvent(env, ordinary)).toBe("skipped");
    expect((await storedEvents("~ops", "gateway")).length).toBe(before);
  });

  it("never throws: a ledger that cannot be reached is logged, and the answer is false", async () => {
    const unreachable = {
      ...opsEnv,
      LEDGER: {
        idFromName: (n: string) => env.LEDGER.idFromName(n),
        get: () => ({ accept: () => Promise.reject(new Error("ledger unreachable (test)")) }),
      },
    } as unknown as Env;
    const input = quarantined({ source: "cybavo", eventId: `evt_${"c".repeat(32)}`, reason: "schema", receivedAt: 0 });
    await expect(opsEvent(unreachable, input)).resolves.toBe("failed");
  });
});
