// How each provider signs its callbacks, written from the providers' own docs with Node's
// crypto: a second implementation, independent of the gateway's WebCrypto verifiers in src/.
// `npm run send` and the end-to-end tests use it to post callbacks exactly as a provider would.
import { createHash } from "node:crypto";

/** CYBAVO: X-CHECKSUM = base64url (with '=' padding) of SHA-256(body bytes ‖ API secret bytes). */
export function signCybavo(callback, secret) {
  const body = JSON.stringify(callback);
  const checksum = createHash("sha256").update(body).update(secret).digest("base64").replaceAll("+", "-").replaceAll("/", "_");
  return { body, headers: { "content-type": "application/json", "X-CHECKSUM": checksum } };
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
  return { body: JSON.stringify({ ...fields, sign }), headers: { "content-type": "application/json" } };
}

/** Gives a callback a new idempotency key, so a fixture can be sent again as a new event. */
export function freshen(provider, callback, seed = Date.now()) {
  if (provider === "cybavo") return { ...callback, serial: seed };
  if (provider === "cregis") {
    const nonce = seed.toString(36).slice(-6);
    if (callback.event_name) {
      const data = typeof callback.data === "string" ? JSON.parse(callback.data) : callback.data;
      const fresh = { ...data, cregis_id: `po${seed}` };
      return { ...callback, nonce, data: typeof callback.data === "string" ? JSON.stringify(fresh) : fresh };
    }
    return { ...callback, cid: seed, nonce };
  }
  return callback;
}

export const signers = { cybavo: signCybavo, cregis: signCregis };
