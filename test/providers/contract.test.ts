/**
 * The provider contract, run over every registered provider's contract sources (its test
 * signer's `test.kits`) and every fixture in its folder (src/providers/<name>/fixtures/*.json):
 * a valid callback is acked with the provider's own reply and delivered; a tampered body, a
 * wrong secret, a malformed or missing signature and (where the scheme has one) a stale
 * timestamp get 401 and store nothing; a signed but unknown event is acked and quarantined with
 * its bytes, never claimed as an event.
 */
import { describe, expect, it } from "vitest";
import { QUARANTINE_ACCOUNT } from "../../src/ingress";
import { providers } from "../../src/providers";
import { PROVIDER_NAMES, type ProviderName } from "../../src/providers/registry";
import { captureLogs, drain, newRows, originEvents, post, quarantinedText, storedEvents } from "../support/gateway";
import { kits, providerFixtures } from "../support/kits";

it("covers every registered provider", () => {
  expect([...new Set(kits.map((kit) => kit.provider))]).toEqual([...PROVIDER_NAMES]);
});

const stripSign = (payload: unknown) => {
  const { sign: _sign, ...rest } = payload as Record<string, unknown>;
  return rest;
};

describe.each(kits)("$source ($provider)", (kit) => {
  const ack = providers[kit.provider as ProviderName].ack.body;
  const cases = providerFixtures.get(kit.provider) ?? [];

  it("has fixtures", () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  describe.each(cases)("%s", (_name, callback) => {
    it("valid → acked with the provider's reply, stored once and delivered by this gateway", async () => {
      const account = kit.account(callback);
      const before = await storedEvents(kit.source, account);
      const signed = await kit.sign(callback);
      const response = await post(kit.source, signed.body, signed.headers);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(ack);
      await drain(kit.source, account);
      // The origin is shared by every test file, and other files (and the other Coins sources)
      // send the same fixtures: what proves this delivery is this gateway's own row, delivered.
      const added = newRows(before, await storedEvents(kit.source, account));
      expect(added).toEqual([expect.objectContaining({ state: "delivered", last_status: 200 })]);
      const row = added[0]!;
      expect(stripSign((JSON.parse(row.body!) as { data: { payload: unknown } }).data.payload)).toEqual(callback);
      const delivered = (await originEvents(account)).filter((e) => e.id === row.id);
      expect(delivered.map((e) => stripSign(e.json.data.payload))).toContainEqual(callback);
    });

    it("tampered body, wrong secret, malformed or missing signature, stale timestamp → 401, nothing stored", async () => {
      const account = kit.account(callback);
      const before = (await storedEvents(kit.source, account)).length;
      const good = await kit.sign(callback);
      // One character of the first string value changed: a change every body-signing scheme must
      // catch (Cregis signs values, not bytes, so a whitespace change would not do).
      const tampered = { ...good, body: good.body.replace(/:"(\w)/, (_m, c: string) => `:"${c === "a" ? "b" : "a"}`) };
      expect(tampered.body).not.toBe(good.body);
      const broken = [
        // The token scheme authenticates the sender, not the body: a tampered body is not its case.
        ...(kit.signsBody ? [tampered] : []),
        await kit.sign(callback, { wrongSecret: true }),
        kit.malformed(good),
        kit.missing(good),
        ...(kit.timestamped ? [await kit.sign(callback, { now: Date.now() - 3_600_000 })] : []),
      ];
      for (const request of broken) {
        const response = await post(kit.source, request.body, request.headers);
        expect(response.status).toBe(401);
        expect(await response.json()).toEqual({ error: "unauthorized" });
      }
      expect(await storedEvents(kit.source, account)).toHaveLength(before);
    });
  });

  it("a signed but unknown event → acked, quarantined with its bytes, never claimed as an event", async () => {
    const unknown = { ...kit.unknownEvent, probe: crypto.randomUUID() };
    const signed = await kit.sign(unknown);
    const before = await storedEvents(kit.source, QUARANTINE_ACCOUNT);
    const { result: response, lines } = await captureLogs(() => post(kit.source, signed.body, signed.headers));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(ack);
    // One request, one outcome: quarantined, so no event was claimed (nothing to forward).
    expect(lines.filter((line) => line.msg === "ingress").map((line) => line.outcome)).toEqual(["quarantined"]);
    const added = newRows(before, await storedEvents(kit.source, QUARANTINE_ACCOUNT));
    expect(added).toEqual([expect.objectContaining({ state: "quarantined", type: null, body: null })]);
    expect(await quarantinedText(kit.source, added[0]!.id)).toBe(signed.body);
  });
});
