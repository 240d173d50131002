// How each provider signs its callbacks, written from the providers' own docs with Node's
// crypto: a second implementation, independent of the gateway's WebCrypto verifiers in src/.
// `npm run send` and the end-to-end tests use it to post callbacks exactly as a provider would.
// Each signer takes (callback object, secret, { url, now }) and returns { body, headers }.
import { createHash, createHmac, randomUUID } from "node:crypto";

const JSON_HEADERS = { "content-type": "application/json" };

/** CYBAVO: X-CHECKSUM = base64url (with '=' padding) of SHA-256(body bytes ‖ API secret bytes). */
export function signCybavo(callback, secret) {
  const body = JSON.stringify(callback);
  const checksum = createHash("sha256").update(body).update(secret).digest("base64").replaceAll("+", "-").replaceAll("/", "_");
  return { body, headers: { ...JSON_HEADERS, "X-CHECKSUM": checksum } };
}

/**
 * Cregis: `sign` = lowercase hex MD5(apiKey + k1v1k2v2...) over the top-level fields sorted by
 * key, leaving out `sign`, null and "". Numbers are signed by their JSON digits, so callbacks
 * built here keep ids below 2^53 (JSON.stringify prints them exactly).
 */
export function signCregis(callback, apiKey) {
  const { sign: _ignored, ...fields } = callback;
  const text = Object.keys(fields)
    .filter((key) => fields[key] !== null && fields[key] !== "")
    .sort()
    .map((key) => key + (typeof fields[key] === "string" ? fields[key] : JSON.stringify(fields[key])))
    .join("");
  const sign = createHash("md5")
    .update(apiKey + text)
    .digest("hex");
  return { body: JSON.stringify({ ...fields, sign }), headers: { ...JSON_HEADERS } };
}

/** KillB: x-signature-sha256 = lowercase hex HMAC-SHA256(webhook secret, body). */
export function signKillb(callback, secret) {
  const body = JSON.stringify(callback);
  return { body, headers: { ...JSON_HEADERS, "x-signature-sha256": createHmac("sha256", secret).update(body).digest("hex") } };
}

/**
 * Cabital Connect: ACCESS-SIGN = Base64 HMAC-SHA256(secret,
 * timestamp "\n" POST "\n" nonce "\n" pathWithQuery "\n" body), with a fresh nonce each time.
 */
export function signCabital(callback, secret, { url, now = Date.now(), accessKey = "dev-partner-key" }) {
  const body = JSON.stringify(callback);
  const timestamp = String(Math.floor(now / 1000));
  const nonce = randomUUID();
  const target = new URL(url);
  const sign = createHmac("sha256", secret)
    .update(`${timestamp}\nPOST\n${nonce}\n${target.pathname}${target.search}\n${body}`)
    .digest("base64");
  return {
    body,
    headers: { ...JSON_HEADERS, "ACCESS-KEY": accessKey, "ACCESS-TIMESTAMP": timestamp, "ACCESS-NONCE": nonce, "ACCESS-SIGN": sign },
  };
}

/** Coins, hmac-sha256 scheme: X-Merchant-Sign = hex HMAC-SHA256(secret, X-Timestamp + URL + body). */
export function signCoinsHmac(callback, secret, { url, now = Date.now(), merchantKey = "dev-merchant" }) {
  const body = JSON.stringify(callback);
  const timestamp = String(now);
  const sign = createHmac("sha256", secret).update(`${timestamp}${url}${body}`).digest("hex");
  return { body, headers: { ...JSON_HEADERS, "X-Merchant-Key": merchantKey, "X-Timestamp": timestamp, "X-Merchant-Sign": sign } };
}

/** Gives a callback a new idempotency key, so a fixture can be sent again as a new event. */
export function freshen(provider, callback, seed = Date.now()) {
  switch (provider) {
    case "cybavo":
      return { ...callback, serial: seed };
    case "cregis": {
      const nonce = seed.toString(36).slice(-6);
      if (callback.event_name) {
        const data = typeof callback.data === "string" ? JSON.parse(callback.data) : callback.data;
        const fresh = { ...data, cregis_id: `po${seed}` };
        return { ...callback, nonce, data: typeof callback.data === "string" ? JSON.stringify(fresh) : fresh };
      }
      return { ...callback, cid: seed, nonce };
    }
    case "killb":
      return { ...callback, id: `evt_${randomUUID()}` };
    case "cabital":
      return { ...callback, event_time: new Date(seed).toISOString() };
    case "coins": {
      const data = { ...callback.data };
      for (const key of ["internalOrderId", "clientTxId", "batchTxId", "orderId"]) if (key in data) data[key] = `${data[key]}-${seed}`;
      if ("time" in data) data.time = seed;
      if (callback.event === "USER_STATUS_UPDATE") data.userId = `${data.userId ?? "user"}-${seed}`;
      return { ...callback, data };
    }
    default:
      return callback;
  }
}

/** Signers by provider; Coins' depends on the scheme its source uses. */
export function signerFor(source) {
  if (source.provider === "coins") {
    if (source.scheme !== "hmac-sha256") return undefined;
    return signCoinsHmac;
  }
  return { cybavo: signCybavo, cregis: signCregis, killb: signKillb, cabital: signCabital }[source.provider];
}
