// How Coins signs a webhook under each scheme a source can agree with Coins (docs/providers/coins.md),
// with Node's crypto: hmac-sha256 (X-Merchant-Sign = hex HMAC-SHA256(secret, X-Timestamp + URL +
// body)), rsa-sha256 (Base64 RSASSA-PKCS1-v1_5 SHA-256 of the body) and token (a static header).
// For tests and tools only (src/providers/signer.ts); the Worker never imports it.
import { createHmac, createPublicKey, createSign, createVerify, generateKeyPairSync } from "node:crypto";

const header = (headers, name) => Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
const TOLERANCE_MS = 300_000;

const hmacSign = (secret, timestamp, url, body) => createHmac("sha256", secret).update(`${timestamp}${url}`).update(body).digest("hex");
const rsaHeader = (options) => String(options.signatureHeader ?? "x-signature");
const tokenHeader = (options) => String(options.tokenHeader ?? "authorization");
const tokenPrefix = (options) => String(options.tokenPrefix ?? "Token ");

/** Base64 that decodes strictly, as the gateway decodes it (canonical, padded), or undefined. */
function strictBase64(text) {
  const bytes = Buffer.from(text, "base64");
  return bytes.toString("base64") === text ? bytes : undefined;
}

/** RSA key pairs made on first use (2048-bit, PEM). */
const pairs = [];
function rsaPair(index) {
  pairs[index] ??= generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  return pairs[index];
}

/** @type {import("../signer").SigningScheme} */
const hmac = {
  id: "coins-hmac",
  options: { scheme: "hmac-sha256" },
  signature: () => ({ header: "X-Merchant-Sign", malformed: "ABC" }),
  timestamped: true,
  signsBody: true,
  singleUse: false,
  sign(callback, secret, { url, now, options }) {
    const body = JSON.stringify(callback);
    const timestamp = String(now);
    const sign = hmacSign(secret, timestamp, options.signedUrl ?? url, body);
    return { body, headers: { "X-Merchant-Key": "merchant", "X-Timestamp": timestamp, "X-Merchant-Sign": sign } };
  },
  reference(body, headers, secret, { url, options }) {
    const timestamp = header(headers, "X-Timestamp");
    if (timestamp === undefined || Math.abs(Date.now() - Number(timestamp)) > TOLERANCE_MS) return false;
    return header(headers, "X-Merchant-Sign") === hmacSign(secret, timestamp, options.signedUrl ?? url, body);
  },
};

/** @type {import("../signer").SigningScheme} */
const rsa = {
  id: "coins-rsa",
  options: { scheme: "rsa-sha256" },
  signature: (options) => ({ header: rsaHeader(options), malformed: "@@@" }),
  timestamped: false,
  signsBody: true,
  singleUse: false,
  keyPair: () => ({
    sign: rsaPair(0).privateKey,
    wrong: rsaPair(1).privateKey,
    verifyWith: { secrets: [], options: { publicKey: rsaPair(0).publicKey } },
  }),
  sign(callback, privateKey, { options }) {
    const body = JSON.stringify(callback);
    return { body, headers: { [rsaHeader(options)]: createSign("RSA-SHA256").update(body).sign(privateKey, "base64") } };
  },
  reference(body, headers, privateKey, { options }) {
    const signature = strictBase64(header(headers, rsaHeader(options)) ?? "");
    return signature !== undefined && createVerify("RSA-SHA256").update(body).verify(createPublicKey(privateKey), signature);
  },
};

/** @type {import("../signer").SigningScheme} */
const token = {
  id: "coins-token",
  options: { scheme: "token" },
  signature: (options) => ({ header: tokenHeader(options), malformed: "Bearer" }),
  timestamped: false,
  signsBody: false,
  singleUse: false,
  sign: (callback, secret, { options }) => ({
    body: JSON.stringify(callback),
    headers: { [tokenHeader(options)]: `${tokenPrefix(options)}${secret}` },
  }),
  reference: (_body, headers, secret, { options }) => header(headers, tokenHeader(options)) === `${tokenPrefix(options)}${secret}`,
};

/** @type {import("../signer").ProviderSigner} */
export const signer = {
  provider: "coins",
  schemes: [hmac, rsa, token],
  freshen(callback, seed) {
    const data = { ...callback.data };
    for (const key of ["internalOrderId", "clientTxId", "batchTxId", "orderId"]) if (key in data) data[key] = `${data[key]}-${seed}`;
    if ("time" in data) data.time = seed;
    if (callback.event === "USER_STATUS_UPDATE") data.userId = `${data.userId ?? "user"}-${seed}`;
    return { ...callback, data };
  },
  onAccount: (callback, account) => ({ ...callback, data: { ...callback.data, fromUserId: String(account) } }),
  account(callback) {
    const user = callback.data.userId ?? callback.data.fromUserId;
    if (user !== undefined) return String(user);
    return callback.event === "USER_STATUS_UPDATE" ? "users" : "orders";
  },
  unknownEvent: { event: "CRYPTO_SWAP_NOTIFICATION", data: { id: 1 } },
  benchFixture: "p2p-transfer-success",
  test: {
    secrets: { COINS_HMAC_SECRET: "coins-merchant-secret", COINS_TOKEN: "coins-static-token" },
    sources: (run) => ({
      "coins-rsa": { provider: "coins", scheme: "rsa-sha256", publicKey: run.rsaPublicKey, signatureHeader: "X-Coins-Signature" },
      "coins-hmac": {
        provider: "coins",
        scheme: "hmac-sha256",
        secrets: ["COINS_HMAC_SECRET"],
        signedUrl: "https://gateway.test/webhooks/coins-hmac",
      },
      "coins-token": { provider: "coins", scheme: "token", secrets: ["COINS_TOKEN"] },
    }),
    kits: [
      // The run's RSA pair: the gateway has the public key, the private one is a test binding.
      {
        source: "coins-rsa",
        scheme: "coins-rsa",
        key: (bindings) => String(bindings.TEST_COINS_PRIVATE_KEY),
        wrongKey: () => rsaPair(1).privateKey,
      },
      { source: "coins-hmac", scheme: "coins-hmac" },
      { source: "coins-token", scheme: "coins-token" },
    ],
  },
};
