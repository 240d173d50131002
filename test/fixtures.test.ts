/**
 * Every fixture `npm run send` offers (test/fixtures/<provider>/*.json) is a callback the gateway
 * accepts and forwards: none of them is quarantined.
 */
import { describe, expect, it } from "vitest";
import { cregisBody, drain, jsonFields, originEvents, post, postCybavo } from "./support/gateway";

const fixtures = import.meta.glob<Record<string, unknown>>("./fixtures/{cybavo,cregis}/*.json", { eager: true, import: "default" });

describe.each(Object.entries(fixtures))("fixture %s", (path, callback) => {
  it("is accepted and forwarded", async () => {
    const provider = path.split("/")[2];
    const response =
      provider === "cybavo" ? await postCybavo("cybavo", callback) : await post("cregis", await cregisBody(jsonFields(callback)));
    expect(response.status).toBe(200);
    const account = String(provider === "cybavo" ? callback.wallet_id : callback.pid);
    await drain(provider!, account);
    const payloads = (await originEvents(account)).map((e) => {
      const { sign: _sign, ...payload } = e.json.data.payload as Record<string, unknown>;
      return payload;
    });
    expect(payloads).toContainEqual(callback);
  });
});
