/**
 * Independent signature vectors (test/fixtures/vectors.json, computed independently of this code): each
 * is accepted by the gateway, and any one-byte change to the body or the signature is refused
 * with 401, stores nothing and sends nothing to the origin.
 */

import { listDurableObjectIds } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { eventId, QUARANTINE_ACCOUNT } from "../../src/ingress";
import { provider as cabital } from "../../src/providers/cabital";
import { provider as cregis } from "../../src/providers/cregis";
import { provider as cybavo } from "../../src/providers/cybavo";
import { provider as killb } from "../../src/providers/killb";
import { utf8 } from "../../src/verify/crypto";
import type { SignedRequest } from "../../src/verify/types";
import vectors from "../fixtures/vectors.json" with { type: "json" };
import { drain, newRows, originEvents, post, quarantinedText, storedEvents } from "../support/gateway";

/** Every single-byte variant (XOR 0x01) of a string's UTF-8 bytes. */
function* oneByteChanges(text: string): Generator<Uint8Array> {
  const bytes = utf8(text);
  for (let i = 0; i < bytes.length; i++) {
    const changed = bytes.slice();
    changed[i] = (changed[i] as number) ^ 0x01;
    yield changed;
  }
}

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function inbound(body: string | Uint8Array, headers: Record<string, string> = {}): SignedRequest {
  return {
    body: typeof body === "string" ? utf8(body) : (body as Uint8Array<ArrayBuffer>),
    headers: new Headers(headers),
    method: "POST",
    url: "https://gateway.test/webhooks/x",
    now: Date.now(),
  };
}

const cybavoKeys = (secret: string) => ({ secrets: [secret], named: new Map(), options: {} });
const cregisKeys = (apiKey: string) => ({ secrets: [apiKey], named: new Map(), options: { nestedValues: "reject" as const } });

describe("CYBAVO vectors", () => {
  for (const vector of vectors.cybavo) {
    it(`accepts: ${vector.name}`, async () => {
      expect(await cybavo.verify(inbound(vector.body, vector.headers), cybavoKeys(vector.apiSecret))).toEqual({ ok: true });
    });

    it(`refuses every one-byte change of body and checksum: ${vector.name}`, async () => {
      const checksum = vector.headers["X-CHECKSUM"];
      for (const body of oneByteChanges(vector.body)) {
        expect(await cybavo.verify(inbound(body, vector.headers), cybavoKeys(vector.apiSecret))).toMatchObject({ ok: false });
      }
      for (const sig of oneByteChanges(checksum)) {
        const result = await cybavo.verify(inbound(vector.body, { "X-CHECKSUM": decode(sig) }), cybavoKeys(vector.apiSecret));
        expect(result).toMatchObject({ ok: false });
      }
      expect(await cybavo.verify(inbound(vector.body, vector.headers), cybavoKeys("API_SECRET_"))).toMatchObject({ ok: false });
    });
  }
});

describe("Cregis vectors", () => {
  for (const vector of vectors.cregis) {
    // The published request-signing vector has no `sign` field: the vector's expected value is
    // added, as the signature sits inside the body for callbacks.
    const body = vector.body.includes('"sign"') ? vector.body : `${vector.body.slice(0, -1)},"sign":"${vector.expectedSign}"}`;

    it(`accepts: ${vector.name}`, async () => {
      expect(await cregis.verify(inbound(body), cregisKeys(vector.apiKey))).toEqual({ ok: true });
    });

    it(`refuses every one-byte change of the body (sign included): ${vector.name}`, async () => {
      let checked = 0;
      for (const changed of oneByteChanges(body)) {
        expect(await cregis.verify(inbound(changed), cregisKeys(vector.apiKey))).toMatchObject({ ok: false });
        checked++;
      }
      expect(checked).toBe(utf8(body).length);
      expect(await cregis.verify(inbound(body), cregisKeys(`${vector.apiKey}0`))).toMatchObject({ ok: false });
    });
  }
});

describe("KillB vectors", () => {
  for (const vector of vectors.killb) {
    const keys = { secrets: [vector.secret], named: new Map(), options: {} };
    it(`accepts: ${vector.name}`, async () => {
      expect(await killb.verify(inbound(vector.body, vector.headers), keys)).toEqual({ ok: true });
    });
    it(`refuses every one-byte change of body and signature: ${vector.name}`, async () => {
      for (const body of oneByteChanges(vector.body))
        expect(await killb.verify(inbound(body, vector.headers), keys)).toMatchObject({ ok: false });
      for (const sig of oneByteChanges(vector.headers["x-signature-sha256"])) {
        expect(await killb.verify(inbound(vector.body, { "x-signature-sha256": decode(sig) }), keys)).toMatchObject({ ok: false });
      }
    });
  }
});

describe("Cabital vectors", () => {
  for (const vector of vectors.cabital) {
    const now = Number(vector.headers["ACCESS-TIMESTAMP"]) * 1000;
    const keys = { secrets: [vector.secret], named: new Map(), options: { toleranceSeconds: 300, layout: "newline" as const } };
    const request = (body: string | Uint8Array, headers: Record<string, string>) => ({
      ...inbound(body, headers),
      method: vector.method,
      url: `https://gateway.test${vector.pathWithQuery}`,
      now,
    });
    it(`accepts: ${vector.name}`, async () => {
      const result = await cabital.verify(request(vector.body, vector.headers), keys);
      expect(result).toMatchObject({ ok: true, replay: { nonce: "nonce-1" } });
    });
    it(`refuses every one-byte change of body, signature and signed headers: ${vector.name}`, async () => {
      for (const body of oneByteChanges(vector.body))
        expect(await cabital.verify(request(body, vector.headers), keys)).toMatchObject({ ok: false });
      for (const name of ["ACCESS-SIGN", "ACCESS-TIMESTAMP", "ACCESS-NONCE"] as const) {
        for (const changed of oneByteChanges(vector.headers[name])) {
          const headers = { ...vector.headers, [name]: decode(changed) };
          expect(await cabital.verify(request(vector.body, headers), keys)).toMatchObject({ ok: false });
        }
      }
      // The signed path and method are part of the message too.
      expect(
        await cabital.verify({ ...request(vector.body, vector.headers), url: "https://gateway.test/webhooks/cabitaL" }, keys),
      ).toMatchObject({
        ok: false,
      });
    });
  }
});

describe("vectors through the whole gateway", () => {
  const cybavoVector = vectors.cybavo[0]!;
  const cregisVector = vectors.cregis[1]!;

  it("one-byte changes get 401, store nothing and reach no origin; the intact callback is accepted", async () => {
    // Forged requests may bump the sources' counters (their `~stats` objects), nothing else.
    const stats = new Set(["cybavo", "cregis"].map((source) => env.LEDGER.idFromName(`${source}/~stats`).toString()));
    const objects = async () => (await listDurableObjectIds(env.LEDGER)).filter((id) => !stats.has(id.toString())).length;
    const objectsBefore = await objects();
    const originBefore = (await originEvents("2")).length;
    const keysBefore = (await env.SEEN.list()).keys.length;
    const checksum = cybavoVector.headers["X-CHECKSUM"];

    // Every body position for CYBAVO; every position of Cregis' body (its signature is inside).
    for (const body of oneByteChanges(cybavoVector.body)) {
      expect((await post("cybavo", body, { "X-CHECKSUM": checksum })).status).toBe(401);
    }
    for (const sig of oneByteChanges(checksum)) {
      const response = await post("cybavo", cybavoVector.body, { "X-CHECKSUM": decode(sig) });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: "unauthorized" });
    }
    for (const body of oneByteChanges(cregisVector.body)) {
      expect((await post("cregis", body)).status).toBe(401);
    }
    expect(await objects()).toBe(objectsBefore);
    expect((await env.SEEN.list()).keys.length).toBe(keysBefore);
    expect(await originEvents("2")).toHaveLength(originBefore);

    const accepted = await post("cybavo", cybavoVector.body, { "X-CHECKSUM": checksum });
    expect(accepted.status).toBe(200);
    expect(await accepted.text()).toBe("OK");
    await drain("cybavo", "2");
    const id = await eventId("cybavo", "2", String(JSON.parse(cybavoVector.body).serial));
    expect((await storedEvents("cybavo", "2")).map((row) => [row.id, row.state])).toEqual([[id, "delivered"]]);
    expect((await originEvents("2")).filter((e) => e.id === id).map((e) => e.json.type)).toEqual(["withdrawal.updated"]);
  }, 120_000);

  it("the Cregis doc callback (status 0, no documented mapping) verifies, is acked and quarantined", async () => {
    const before = await storedEvents("cregis", QUARANTINE_ACCOUNT);
    const response = await post("cregis", cregisVector.body);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("success");
    const added = newRows(before, await storedEvents("cregis", QUARANTINE_ACCOUNT));
    expect(added).toEqual([expect.objectContaining({ state: "quarantined", reason: "unmapped: payout status 0" })]);
    expect(await quarantinedText("cregis", added[0]!.id)).toBe(cregisVector.body);
    // Not claimed as an event of its account (a claim is stored before the ack).
    expect(await storedEvents("cregis", "1382528827416576")).toEqual([]);
  });
});
