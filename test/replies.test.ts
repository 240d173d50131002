/**
 * The replies the README's table "Replies to providers" promises, status, body and the headers
 * it names, as the gateway sends them (test/node/readme-replies.test.ts checks the table holds
 * the same bodies).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, post } from "./support/gateway";

const reply = async (response: Response) => [response.status, await response.text()];

describe("replies to providers, as the README lists them", () => {
  it("401 for a bad signature, 404 for an unknown source, 405 for another method with Allow: POST, 413 over MAX_BODY_BYTES", async () => {
    expect(await reply(await post("cybavo", '{"wallet_id":1}', { "x-checksum": "forged" }))).toEqual([401, '{"error":"unauthorized"}']);
    expect(await reply(await post("no-such-source", "{}"))).toEqual([404, '{"error":"not_found"}']);
    const get = await call(new Request("https://gateway.test/webhooks/cybavo"));
    expect([...(await reply(get)), get.headers.get("allow")]).toEqual([405, '{"error":"method_not_allowed"}', "POST"]);
    const tooLarge = await post("cybavo", "x".repeat(Number(env.MAX_BODY_BYTES ?? 262144) + 1));
    expect(await reply(tooLarge)).toEqual([413, '{"error":"payload_too_large"}']);
  });
});
