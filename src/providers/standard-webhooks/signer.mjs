// How a Standard Webhooks sender signs (spec "Verifying webhook authenticity"), for tests and
// tools only (src/providers/signer.ts); the Worker never imports it. Signatures are made by the
// official `standardwebhooks` package (a devDependency: an implementation independent of the
// gateway's); the fuzz oracle (`reference`) is the spec's formula in Node's crypto.
import { createHash, createHmac } from "node:crypto";
import { Webhook } from "standardwebhooks";

const header = (headers, name) => Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
const TOLERANCE_SECONDS = 300;

/**
 * A Standard Webhooks secret from a tool's secret: a `whsec_` one as it is, any other text as
 * `whsec_` + base64 of its UTF-8 (the verify cases, the bench and wrong-secret tests pass plain
 * text; a sender's secret is always base64).
 */
export function standardWebhooksSecret(text) {
  return text.startsWith("whsec_") ? text : `whsec_${Buffer.from(text, "utf8").toString("base64")}`;
}

/** The message id a sender gives a body: the same callback always gets the same id, as a sender's retries do. */
export function messageId(body) {
  return `msg_${createHash("sha256").update(body).digest("hex").slice(0, 27)}`;
}

/** The three headers for an exact body, signed by the official library with each secret (newest first), at `now` (Unix ms). */
export function standardWebhooksHeaders(body, secrets, { id = messageId(body), now = Date.now() } = {}) {
  const seconds = Math.floor(now / 1000);
  return {
    "webhook-id": id,
    "webhook-timestamp": String(seconds),
    "webhook-signature": secrets
      .map((secret) => new Webhook(standardWebhooksSecret(secret)).sign(id, new Date(seconds * 1000), body))
      .join(" "),
  };
}

/** The spec's check, in Node's crypto: any `v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>` entry, the timestamp an integer within 5 minutes. */
function reference(body, headers, key) {
  const [id, timestamp, signatures] = ["webhook-id", "webhook-timestamp", "webhook-signature"].map((name) => header(headers, name));
  if (!id || !timestamp || !signatures || !/^(0|[1-9]\d{0,11})$/.test(timestamp)) return false;
  if (Math.abs(Math.floor(Date.now() / 1000) - Number(timestamp)) > TOLERANCE_SECONDS) return false;
  const secret = Buffer.from(standardWebhooksSecret(key).slice("whsec_".length), "base64");
  const expected = createHmac("sha256", secret).update(`${id}.${timestamp}.`).update(body).digest("base64");
  return signatures.split(" ").includes(`v1,${expected}`);
}

/** @type {import("../signer").ProviderSigner} */
export const signer = {
  provider: "standard-webhooks",
  schemes: [
    {
      id: "standard-webhooks",
      options: {},
      signature: () => ({ header: "webhook-signature", malformed: "v1,%%%" }),
      timestamped: true,
      signsBody: true,
      singleUse: false,
      secret: standardWebhooksSecret,
      sign(callback, secret, { now }) {
        const body = JSON.stringify(callback);
        return { body, headers: standardWebhooksHeaders(body, [secret], { now }) };
      },
      reference: (body, headers, secret) => reference(body, headers, secret),
    },
  ],
  // A new event time is a new body, so a new message id.
  freshen: (callback, seed) => ({ ...callback, timestamp: new Date(seed).toISOString() }),
  onAccount: (callback, account) => ({ ...callback, data: { ...callback.data, customer_id: `cus_${account}` } }),
  // The contract source's accountPointer is /data/customer_id.
  account: (callback) => String(callback.data?.customer_id),
  unknownEvent: { type: "invoice.paid", timestamp: "2025-06-02T10:15:00.000Z", data: { id: "in_without_customer" } },
  benchFixture: "invoice-paid",
  test: {
    // Public example values. The previous one is the secret of the spec libraries' own test vector.
    secrets: {
      STANDARD_WEBHOOKS_SECRET: "whsec_c3RhbmRhcmQtd2ViaG9va3MtdGVzdC1zZWNyZXQtbmV3",
      STANDARD_WEBHOOKS_SECRET_PREVIOUS: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    },
    sources: () => ({
      // Accounts from the payload; one sender type mapped onto the gateway's vocabulary.
      "standard-webhooks": {
        provider: "standard-webhooks",
        secrets: ["STANDARD_WEBHOOKS_SECRET", "STANDARD_WEBHOOKS_SECRET_PREVIOUS"],
        accountPointer: "/data/customer_id",
        types: { "invoice.paid": { type: "payment.updated", status: "succeeded" } },
      },
      // Everything default: one account, every event webhook.received.
      "standard-webhooks-default": { provider: "standard-webhooks", secrets: ["STANDARD_WEBHOOKS_SECRET"] },
    }),
    kits: [{ source: "standard-webhooks", scheme: "standard-webhooks" }],
  },
};
