/**
 * Identity as a property, per provider (fast-check against the real Worker in workerd):
 * - signature-preserving transformations of a valid request, the ones its scheme allows
 *   (header-name case everywhere; Cregis: member order, whitespace, string escapes, null and ""
 *   members, a scalar sent as a JSON string or number; KillB: a retry's new `attempts`;
 *   Cabital and Coins hmac-sha256: a retry's new nonce or timestamp), always yield the same
 *   event id and exactly one delivery;
 * - a change of signed content is rejected (not re-signed) or yields a different id (re-signed
 *   with another value of an identity field).
 * Invariant relied on: identity = f(signed content), and f separates what tells money movements apart.
 */
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { eventId } from "../src/ingress";
import { digest, toHex, utf8 } from "../src/verify/crypto";
import { cybavoCallback, cybavoChecksum, drain, originEvents, post, secrets, uniqueAccount } from "./support/gateway";
import { cabitalHeaders, killbSignature, kits } from "./support/kits";

const RUNS = 15;
const settings = { numRuns: RUNS, endOnFailure: true };
// Each run posts and delivers real requests: a property takes seconds, not the default 5.
vi.setConfig({ testTimeout: 60_000 });

/** One header-name spelling: as given, lower case, upper case or alternating. */
const caseOf = fc.constantFrom<(name: string) => string>(
  (n) => n,
  (n) => n.toLowerCase(),
  (n) => n.toUpperCase(),
  (n) => [...n].map((c, i) => (i % 2 ? c.toLowerCase() : c.toUpperCase())).join(""),
);
const recase = (headers: Record<string, string>, spell: (name: string) => string) =>
  Object.fromEntries(Object.entries(headers).map(([k, v]) => [spell(k), v]));

/** Posts every variant (each must be acked with `ack`), drains the account, returns the ids the origin got. */
async function deliverAll(
  source: string,
  account: string,
  requests: { body: string; headers: Record<string, string> }[],
  ack: string,
): Promise<string[]> {
  for (const r of requests) {
    const response = await post(source, r.body, r.headers);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(ack);
  }
  await drain(source, account);
  return (await originEvents(account)).map((e) => e.id);
}

/** Flips one character of the body that lies inside a string value: the body still parses but no longer verifies. */
function tamper(body: string, marker: string): string {
  const at = body.indexOf(marker);
  if (at < 0) throw new Error(`tamper: ${marker} not in body`);
  const c = body[at + marker.length]!;
  return body.slice(0, at + marker.length) + (c === "1" ? "2" : "1") + body.slice(at + marker.length + 1);
}

describe("CYBAVO", () => {
  it("header-name case never changes the event; a changed body is refused; another serial is another event", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(caseOf, { minLength: 1, maxLength: 3 }), async (spellings) => {
        const wallet = uniqueAccount();
        const serial = uniqueAccount();
        const body = JSON.stringify(cybavoCallback({ wallet_id: wallet, serial, amount: "1000000000000000000" }));
        const headers = { "X-CHECKSUM": await cybavoChecksum(body) };
        const ids = await deliverAll(
          "cybavo",
          String(wallet),
          spellings.map((spell) => ({ body, headers: recase(headers, spell) })),
          "OK",
        );
        expect(ids).toEqual([await eventId("cybavo", String(wallet), String(serial))]);
        expect((await post("cybavo", tamper(body, '"amount":"'), headers)).status).toBe(401);
        const other = JSON.stringify(cybavoCallback({ wallet_id: wallet, serial: serial + 1 }));
        expect(
          await deliverAll("cybavo", String(wallet), [{ body: other, headers: { "X-CHECKSUM": await cybavoChecksum(other) } }], "OK"),
        ).toEqual([ids[0], await eventId("cybavo", String(wallet), String(serial + 1))]);
      }),
      settings,
    );
  });
});

describe("Cregis", () => {
  type Member = { key: string; json: string; signed: string };
  const members = (pid: number, cid: number): Member[] =>
    [
      ["pid", String(pid), String(pid)],
      ["chain_id", '"195"', "195"],
      ["token_id", '"195"', "195"],
      ["currency", '"TRX"', "TRX"],
      ["cid", String(cid), String(cid)],
      ["amount", '"1.10"', "1.10"],
      ["address", '"TXsmKpEuW7qWnXzJLGP9eDLvWPR2GRn1FS"', "TXsmKpEuW7qWnXzJLGP9eDLvWPR2GRn1FS"],
      ["third_party_id", `"tp-${pid}"`, `tp-${pid}`],
      ["status", "6", "6"],
      ["nonce", '"ubqso3"', "ubqso3"],
      ["timestamp", "1687850657960", "1687850657960"],
    ].map(([key, json, signed]) => ({ key: key!, json: json!, signed: signed! }));

  async function sign(list: Member[]): Promise<string> {
    const text = list
      .map((m) => [m.key, m.signed] as const)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => k + v)
      .join("");
    return toHex(await digest("MD5", utf8(secrets.CREGIS_API_KEY + text)));
  }

  /** One signature-preserving spelling of a member. */
  const spelling = fc.record({
    space: fc.constantFrom("", " ", "\n\t "),
    escapeFirst: fc.boolean(),
    flipType: fc.boolean(),
  });
  const respell = (m: Member, s: { space: string; escapeFirst: boolean; flipType: boolean }): string => {
    let json = m.json;
    const isString = json.startsWith('"');
    const numeric = /^-?(0|[1-9]\d*)(\.\d+)?$/;
    if (s.flipType && isString && numeric.test(m.signed)) json = m.signed;
    else if (s.flipType && !isString) json = `"${json}"`;
    else if (s.escapeFirst && isString && m.signed.length > 0)
      json = `"\\u${m.signed.charCodeAt(0).toString(16).padStart(4, "0")}${json.slice(2)}`;
    return `${s.space}${JSON.stringify(m.key)}${s.space}:${s.space}${json}${s.space}`;
  };
  const unsignedExtras = fc.uniqueArray(
    fc.record({
      key: fc.constantFrom("memo", "remark", "from_address", "to_address", "block_height", "txid", "zz"),
      empty: fc.constantFrom('""', "null"),
    }),
    { selector: (x) => x.key, maxLength: 4 },
  );
  const variant = fc.record({
    order: fc.shuffledSubarray([...Array(11).keys()], { minLength: 11, maxLength: 11 }),
    spellings: fc.array(spelling, { minLength: 11, maxLength: 11 }),
    extras: unsignedExtras,
  });

  it("order, whitespace, escapes, a scalar's JSON type and null or empty members never change the event; a changed value is refused; another cid is another event", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(variant, { minLength: 1, maxLength: 3 }), async (variants) => {
        const pid = uniqueAccount();
        const cid = uniqueAccount();
        const list = members(pid, cid);
        const sign_ = await sign(list);
        const bodies = variants.map((v) => {
          const texts = v.order.map((i) => respell(list[i]!, v.spellings[i]!));
          const extras = v.extras.map((x) => `"${x.key}":${x.empty}`);
          return `{${[...texts, ...extras, `"sign":"${sign_}"`].join(",")}}`;
        });
        const ids = await deliverAll(
          "cregis",
          String(pid),
          bodies.map((body) => ({ body, headers: {} })),
          "success",
        );
        expect(ids).toEqual([await eventId("cregis", String(pid), `payout:${pid}:${cid}:6`)]);
        expect((await post("cregis", tamper(bodies[0]!, "XsmKpEuW7qWnXzJLGP9eDLvWPR2GRn"))).status).toBe(401);
        const other = members(pid, cid + 1);
        const otherBody = `{${[...other.map((m) => `"${m.key}":${m.json}`), `"sign":"${await sign(other)}"`].join(",")}}`;
        expect((await deliverAll("cregis", String(pid), [{ body: otherBody, headers: {} }], "success"))[1]).toBe(
          await eventId("cregis", String(pid), `payout:${pid}:${cid + 1}:6`),
        );
      }),
      settings,
    );
  });
});

describe("KillB", () => {
  it("a retry (new attempts, new signature) and header-name case never change the event; a changed body is refused; another envelope id is another event", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), caseOf), { minLength: 1, maxLength: 3 }), async (tries) => {
        const user = `u-${uniqueAccount()}`;
        const callback = (attempts: number, id = `evt-${user}`) => ({
          id,
          event: "TRANSACTION",
          action: "UPDATE",
          attempts,
          data: { id: `tx-${user}`, userId: user, type: "DEPOSIT", status: "COMPLETED", amount: 23.81, currency: "USD" },
        });
        const requests = await Promise.all(
          tries.map(async ([attempts, spell]) => {
            const body = JSON.stringify(callback(attempts));
            return { body, headers: recase({ "x-signature-sha256": await killbSignature(body) }, spell) };
          }),
        );
        const ids = await deliverAll("killb", user, requests, '{"received":true}');
        expect(ids).toEqual([await eventId("killb", user, `evt-${user}`)]);
        expect((await post("killb", tamper(requests[0]!.body, '"amount":2'), requests[0]!.headers)).status).toBe(401);
        const other = JSON.stringify(callback(0, `evt2-${user}`));
        expect(
          (
            await deliverAll(
              "killb",
              user,
              [{ body: other, headers: { "x-signature-sha256": await killbSignature(other) } }],
              '{"received":true}',
            )
          )[1],
        ).toBe(await eventId("killb", user, `evt2-${user}`));
      }),
      settings,
    );
  });
});

describe("Cabital", () => {
  it("a retry (new nonce and timestamp) and header-name case never change the event; a changed body is refused; another status is another event", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 0, max: 200_000 }), caseOf), { minLength: 1, maxLength: 3 }), async (tries) => {
        const account = `acc-${uniqueAccount()}`;
        const body = (status: string) => JSON.stringify({ account_uuid: account, status, event_time: "2024-07-01T09:00:00.000Z" });
        const requests = await Promise.all(
          tries.map(async ([ago, spell]) => ({
            body: body("MATCHED"),
            headers: recase(await cabitalHeaders(body("MATCHED"), secrets.CABITAL_SECRET, Date.now() - ago), spell),
          })),
        );
        const ids = await deliverAll("cabital", account, requests, '{"received":true}');
        expect(ids).toEqual([await eventId("cabital", account, `${account}:MATCHED:2024-07-01T09:00:00.000Z`)]);
        const fresh = await cabitalHeaders(body("MATCHED"), secrets.CABITAL_SECRET, Date.now());
        expect((await post("cabital", body("MATCHED").replace("09:00", "09:01"), fresh)).status).toBe(401);
        const linked = await cabitalHeaders(body("LINKED"), secrets.CABITAL_SECRET, Date.now());
        expect((await deliverAll("cabital", account, [{ body: body("LINKED"), headers: linked }], '{"received":true}'))[1]).toBe(
          await eventId("cabital", account, `${account}:LINKED:2024-07-01T09:00:00.000Z`),
        );
      }),
      settings,
    );
  });
});

describe("Coins", () => {
  for (const kit of kits.filter((k) => k.provider === "coins")) {
    it(`${kit.source}: a retry (a new timestamp where signed) and header-name case never change the event; a changed body is refused where signed; another order is another event`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.integer({ min: 0, max: 200_000 }), caseOf), { minLength: 1, maxLength: 3 }),
          async (tries) => {
            const user = uniqueAccount();
            const callback = (order: string) => ({
              event: "FIAT_CASH_IN_NOTIFICATION",
              data: { internalOrderId: order, userId: user, status: "SUCCESS", amount: "10.50", currency: "PHP" },
            });
            const requests = await Promise.all(
              tries.map(async ([ago, spell]) => {
                const signed = await kit.sign(callback(`o-${user}`), { now: Date.now() - ago });
                return { body: signed.body, headers: recase(signed.headers, spell) };
              }),
            );
            const ids = await deliverAll(kit.source, String(user), requests, "OK");
            expect(ids).toEqual([
              await eventId(kit.source, String(user), `FIAT_CASH_IN_NOTIFICATION:${JSON.stringify([`o-${user}`, null, "SUCCESS"])}`),
            ]);
            const tampered = await post(kit.source, tamper(requests[0]!.body, '"amount":"'), requests[0]!.headers);
            expect(tampered.status).toBe(kit.signsBody ? 401 : 200);
            const other = await kit.sign(callback(`p-${user}`));
            const after = await deliverAll(kit.source, String(user), [other], "OK");
            expect(after.at(-1)).toBe(
              await eventId(kit.source, String(user), `FIAT_CASH_IN_NOTIFICATION:${JSON.stringify([`p-${user}`, null, "SUCCESS"])}`),
            );
          },
        ),
        settings,
      );
    });
  }
});
