/**
 * One "kit" per provider for the contract test: how that provider signs a body, how a request
 * is broken in each way the contract names, and what a signed but unknown event looks like.
 * Signing here uses WebCrypto in workerd; the independent vectors (test/fixtures/vectors.json)
 * are what anchor these schemes to the providers' own values.
 */
import { env } from "cloudflare:workers";
import { concatBytes, digest, fromBase64, hmacSha256, toBase64, toBase64UrlPadded, toHex, utf8 } from "../../src/verify/crypto";
import { cregisBody, cybavoChecksum, jsonFields } from "./gateway";
import { TEST_SECRETS } from "./test-config";

export interface Signed {
  body: string;
  headers: Record<string, string>;
}

export interface SignOptions {
  /** Sign with this secret instead of the source's (Coins RSA: with a different key). */
  wrongSecret?: boolean;
  /** Sign as if at this time (Unix ms). */
  now?: number;
}

export interface Kit {
  provider: string;
  source: string;
  sign(callback: Record<string, unknown>, options?: SignOptions): Promise<Signed>;
  /** A signature header (or field) replaced by something that cannot be decoded. */
  malformed(signed: Signed): Signed;
  /** The signature header (or field) removed. */
  missing(signed: Signed): Signed;
  /** Whether the scheme has a timestamp window (then `sign({ now })` can make it stale). */
  timestamped: boolean;
  /** Whether the signature covers the body (all but Coins' static token). */
  signsBody: boolean;
  /** Whether a signed request is good once only (a signed nonce): sent again, it is a replay (401). */
  singleUse: boolean;
  /** The account a fixture's events are filed under (the CloudEvent subject). */
  account(callback: Record<string, unknown>): string;
  /** A well-formed body of an event the adapter does not know. */
  unknownEvent: Record<string, unknown>;
  /**
   * The reference check, written from the provider's formula: would the provider's own scheme
   * call this (possibly mutated) request validly signed? The fuzz test's oracle.
   */
  reference(body: Uint8Array, headers: Record<string, string>): Promise<boolean>;
}

const WRONG = "not-the-configured-secret";
const withHeader = (signed: Signed, name: string, value: string | undefined): Signed => {
  const headers = Object.fromEntries(Object.entries(signed.headers).filter(([k]) => k.toLowerCase() !== name.toLowerCase()));
  return { body: signed.body, headers: value === undefined ? headers : { ...headers, [name]: value } };
};

/** KillB's header for an exact body text. */
export async function killbSignature(body: string, secret: string = TEST_SECRETS.KILLB_WEBHOOK_SECRET): Promise<string> {
  return toHex(await hmacSha256(utf8(secret), utf8(body)));
}

let nonceCounter = 0;

export async function cabitalHeaders(
  body: string,
  secret: string,
  now: number,
  path = "/webhooks/cabital",
): Promise<Record<string, string>> {
  const timestamp = String(Math.floor(now / 1000));
  nonceCounter += 1;
  const nonce = `n-${now}-${nonceCounter}`;
  const signed = `${timestamp}\nPOST\n${nonce}\n${path}\n${body}`;
  const sign = toBase64(await hmacSha256(utf8(secret), utf8(signed)));
  return { "ACCESS-KEY": "partner-key", "ACCESS-TIMESTAMP": timestamp, "ACCESS-NONCE": nonce, "ACCESS-SIGN": sign };
}

async function rsaSign(body: string, wrong: boolean): Promise<string> {
  const key = wrong
    ? (
        (await crypto.subtle.generateKey(
          { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
          true,
          ["sign", "verify"],
        )) as CryptoKeyPair
      ).privateKey
    : await crypto.subtle.importKey(
        "pkcs8",
        fromBase64(env.TEST_COINS_PRIVATE_KEY.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""))!,
        { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
        false,
        ["sign"],
      );
  return toBase64(new Uint8Array(await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, utf8(body))));
}

const json = (callback: Record<string, unknown>) => JSON.stringify(callback);
const header = (headers: Record<string, string>, name: string) =>
  Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
const hmacHex = async (secret: string, message: Uint8Array) => toHex(await hmacSha256(utf8(secret), message as Uint8Array<ArrayBuffer>));
const join = (prefix: string, body: Uint8Array) => {
  const out = new Uint8Array(utf8(prefix).length + body.length);
  out.set(utf8(prefix));
  out.set(body, utf8(prefix).length);
  return out;
};

export const kits: Kit[] = [
  {
    provider: "cybavo",
    source: "cybavo",
    reference: async (body, headers) =>
      header(headers, "X-CHECKSUM") === toBase64UrlPadded(await digest("SHA-256", concatBytes(body, utf8(TEST_SECRETS.CYBAVO_API_SECRET)))),
    async sign(callback, o = {}) {
      const body = json(callback);
      return { body, headers: { "X-CHECKSUM": await cybavoChecksum(body, o.wrongSecret ? WRONG : TEST_SECRETS.CYBAVO_API_SECRET) } };
    },
    malformed: (s) => withHeader(s, "X-CHECKSUM", "not*base64"),
    missing: (s) => withHeader(s, "X-CHECKSUM", undefined),
    timestamped: false,
    signsBody: true,
    singleUse: false,
    account: (cb) => String(cb.wallet_id),
    unknownEvent: { type: 9, serial: 1, currency: "ETH", amount: "1", wallet_id: 1, state: 3, processing_state: 2, decimal: 18 },
  },
  {
    provider: "cregis",
    source: "cregis",
    async reference(body) {
      // The SDKs' way: parse, drop sign/null/"", sort, concatenate. Integers here stay below 2^53.
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body));
      } catch {
        return false;
      }
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || typeof parsed.sign !== "string") return false;
      const { sign, ...fields } = parsed;
      if (Object.values(fields).some((v) => typeof v === "object" && v !== null)) return false;
      const expected = JSON.parse(await cregisBody(jsonFields(fields))).sign as string;
      return sign === expected;
    },
    async sign(callback, o = {}) {
      return { body: await cregisBody(jsonFields(callback), o.wrongSecret ? WRONG : TEST_SECRETS.CREGIS_API_KEY), headers: {} };
    },
    malformed: (s) => ({ ...s, body: s.body.replace(/"sign":"[0-9a-f]{32}"/, '"sign":"zz"') }),
    missing: (s) => ({ ...s, body: s.body.replace(/,"sign":"[0-9a-f]{32}"/, "") }),
    timestamped: false,
    signsBody: true,
    singleUse: false,
    account: (cb) => String(cb.pid),
    unknownEvent: {
      pid: 1,
      cid: 2,
      chain_id: "195",
      token_id: "195",
      currency: "TRX",
      amount: "1",
      address: "T",
      third_party_id: "x",
      status: 99,
      nonce: "abcdef",
      timestamp: 1,
    },
  },
  {
    provider: "killb",
    source: "killb",
    reference: async (body, headers) => header(headers, "x-signature-sha256") === (await hmacHex(TEST_SECRETS.KILLB_WEBHOOK_SECRET, body)),
    async sign(callback, o = {}) {
      const body = json(callback);
      return { body, headers: { "x-signature-sha256": await killbSignature(body, o.wrongSecret ? WRONG : undefined) } };
    },
    malformed: (s) => withHeader(s, "x-signature-sha256", "xyz"),
    missing: (s) => withHeader(s, "x-signature-sha256", undefined),
    timestamped: false,
    signsBody: true,
    singleUse: false,
    account: (cb) => {
      const data = cb.data as Record<string, string>;
      return cb.event === "USER" ? data.id! : (data.userId ?? data.id!);
    },
    unknownEvent: { id: "evt_unknown", event: "PAYOUT", action: "UPDATE", data: {}, attempts: 0 },
  },
  {
    provider: "cabital",
    source: "cabital",
    async reference(body, headers) {
      const [ts, nonce, sign] = ["ACCESS-TIMESTAMP", "ACCESS-NONCE", "ACCESS-SIGN"].map((h) => header(headers, h));
      if (ts === undefined || nonce === undefined || sign === undefined || Math.abs(Date.now() - Number(ts) * 1000) > 300_000) return false;
      const expected = toBase64(
        await hmacSha256(
          utf8(TEST_SECRETS.CABITAL_SECRET),
          join(`${ts}\nPOST\n${nonce}\n/webhooks/cabital\n`, body) as Uint8Array<ArrayBuffer>,
        ),
      );
      return sign === expected;
    },
    async sign(callback, o = {}) {
      const body = json(callback);
      return { body, headers: await cabitalHeaders(body, o.wrongSecret ? WRONG : TEST_SECRETS.CABITAL_SECRET, o.now ?? Date.now()) };
    },
    malformed: (s) => withHeader(s, "ACCESS-SIGN", "%%%"),
    missing: (s) => withHeader(s, "ACCESS-SIGN", undefined),
    timestamped: true,
    signsBody: true,
    singleUse: true,
    account: (cb) => String(cb.account_uuid),
    unknownEvent: { account_uuid: "a-unknown", status: "FROZEN", event_time: "2020-07-01T09:00:00.000Z" },
  },
  {
    provider: "coins",
    source: "coins-rsa",
    async reference(body, headers) {
      const signature = fromBase64(header(headers, "X-Coins-Signature") ?? "");
      if (signature === undefined) return false;
      const pem = (JSON.parse(env.SOURCES as unknown as string) as Record<string, { publicKey: string }>)["coins-rsa"]!.publicKey;
      const der = fromBase64(pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""))!;
      const key = await crypto.subtle.importKey("spki", der, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["verify"]);
      return crypto.subtle.verify("RSASSA-PKCS1-v1_5", key, signature, body as Uint8Array<ArrayBuffer>);
    },
    async sign(callback, o = {}) {
      const body = json(callback);
      return { body, headers: { "X-Coins-Signature": await rsaSign(body, o.wrongSecret ?? false) } };
    },
    malformed: (s) => withHeader(s, "X-Coins-Signature", "@@@"),
    missing: (s) => withHeader(s, "X-Coins-Signature", undefined),
    timestamped: false,
    signsBody: true,
    singleUse: false,
    account: coinsAccount,
    unknownEvent: { event: "CRYPTO_SWAP_NOTIFICATION", data: { id: 1 } },
  },
  {
    provider: "coins",
    source: "coins-hmac",
    async reference(body, headers) {
      const ts = header(headers, "X-Timestamp");
      if (ts === undefined || Math.abs(Date.now() - Number(ts)) > 300_000) return false;
      return (
        header(headers, "X-Merchant-Sign") ===
        (await hmacHex(TEST_SECRETS.COINS_HMAC_SECRET, join(`${ts}https://gateway.test/webhooks/coins-hmac`, body)))
      );
    },
    async sign(callback, o = {}) {
      const body = json(callback);
      const timestamp = String(o.now ?? Date.now());
      const secret = o.wrongSecret ? WRONG : TEST_SECRETS.COINS_HMAC_SECRET;
      const sign = toHex(await hmacSha256(utf8(secret), utf8(`${timestamp}https://gateway.test/webhooks/coins-hmac${body}`)));
      return { body, headers: { "X-Merchant-Key": "merchant", "X-Timestamp": timestamp, "X-Merchant-Sign": sign } };
    },
    malformed: (s) => withHeader(s, "X-Merchant-Sign", "ABC"),
    missing: (s) => withHeader(s, "X-Merchant-Sign", undefined),
    timestamped: true,
    signsBody: true,
    singleUse: false,
    account: coinsAccount,
    unknownEvent: { event: "CRYPTO_SWAP_NOTIFICATION", data: { id: 1 } },
  },
  {
    provider: "coins",
    source: "coins-token",
    reference: async (_body, headers) => header(headers, "Authorization") === `Token ${TEST_SECRETS.COINS_TOKEN}`,
    async sign(callback, o = {}) {
      return { body: json(callback), headers: { Authorization: `Token ${o.wrongSecret ? WRONG : TEST_SECRETS.COINS_TOKEN}` } };
    },
    malformed: (s) => withHeader(s, "Authorization", "Bearer"),
    missing: (s) => withHeader(s, "Authorization", undefined),
    timestamped: false,
    signsBody: false,
    singleUse: false,
    account: coinsAccount,
    unknownEvent: { event: "CRYPTO_SWAP_NOTIFICATION", data: { id: 1 } },
  },
];

function coinsAccount(cb: Record<string, unknown>): string {
  const data = cb.data as Record<string, unknown>;
  const user = data.userId ?? data.fromUserId;
  if (user !== undefined) return String(user);
  return cb.event === "USER_STATUS_UPDATE" ? "users" : "orders";
}

/** SHA-256 hex of a string (for naming things in tests). */
export async function sha(text: string): Promise<string> {
  return toHex(await digest("SHA-256", utf8(text)));
}
