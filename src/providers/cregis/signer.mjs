// How Cregis signs a callback, from its docs and SDKs (developer.cregis.com "Signature";
// 0xcregis/cregis-java-sdk, -go-sdk, -sdk-php), with Node's crypto: `sign` = lowercase hex
// MD5(apiKey + k1v1k2v2...) over the top-level fields sorted by key, leaving out `sign`, null and
// "". For tests and tools only (src/providers/signer.ts); the Worker never imports it.
import { createHash } from "node:crypto";

/** The `sign` of these fields: strings by their value, anything else by its JSON text. */
function signOf(fields, apiKey) {
  const text = Object.keys(fields)
    .filter((key) => fields[key] !== null && fields[key] !== "")
    .sort()
    .map((key) => key + (typeof fields[key] === "string" ? fields[key] : JSON.stringify(fields[key])))
    .join("");
  return createHash("md5")
    .update(apiKey + text)
    .digest("hex");
}

/**
 * The signed body, `sign` last. Numbers are signed by their JSON digits, so callbacks built here
 * keep ids below 2^53 (JSON.stringify prints them exactly).
 */
export function signCregis(callback, apiKey) {
  const { sign: _ignored, ...fields } = callback;
  return { body: JSON.stringify({ ...fields, sign: signOf(fields, apiKey) }), headers: {} };
}

/** @type {import("../signer").ProviderSigner} */
export const signer = {
  provider: "cregis",
  schemes: [
    {
      id: "cregis",
      options: {},
      signature: () => ({ field: "sign" }),
      timestamped: false,
      signsBody: true,
      singleUse: false,
      sign: (callback, apiKey) => signCregis(callback, apiKey),
      reference(body, _headers, apiKey) {
        // The SDKs' way: parse, drop sign/null/"", sort, concatenate. Integers here stay below 2^53.
        let parsed;
        try {
          parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body));
        } catch {
          return false; // not UTF-8 or not JSON: no SDK would call it signed
        }
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || typeof parsed.sign !== "string") return false;
        const { sign, ...fields } = parsed;
        if (Object.values(fields).some((value) => typeof value === "object" && value !== null)) return false;
        return sign === signOf(fields, apiKey);
      },
    },
  ],
  freshen(callback, seed) {
    const nonce = seed.toString(36).slice(-6);
    if (callback.event_name) {
      const data = typeof callback.data === "string" ? JSON.parse(callback.data) : callback.data;
      const fresh = { ...data, cregis_id: `po${seed}` };
      return { ...callback, nonce, data: typeof callback.data === "string" ? JSON.stringify(fresh) : fresh };
    }
    return { ...callback, cid: seed, nonce };
  },
  onAccount: (callback, account) => ({ ...callback, pid: account }),
  account: (callback) => String(callback.pid),
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
  benchFixture: "payout-succeeded",
  test: {
    // The first vector's API key (test/fixtures/vectors.json).
    secrets: { CREGIS_API_KEY: "f502a9ac9ca54327986f29c03b271491" },
    sources: () => ({
      cregis: { provider: "cregis", secrets: ["CREGIS_API_KEY"] },
      "cregis-nested": { provider: "cregis", secrets: ["CREGIS_API_KEY"], nestedValues: "canonical-json" },
    }),
    kits: [{ source: "cregis", scheme: "cregis" }],
  },
};
