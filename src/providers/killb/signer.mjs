// How KillB signs a webhook, from its docs (docs.killb.com "Webhook security"), with Node's
// crypto: x-signature-sha256 = lowercase hex HMAC-SHA256(webhook secret, body).
// For tests and tools only (src/providers/signer.ts); the Worker never imports it.
import { createHmac, randomUUID } from "node:crypto";

const header = (headers, name) => Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];

/** The x-signature-sha256 of an exact body text. */
export function killbSignature(body, secret) {
  return createHmac("sha256", secret).update(body).digest("hex");
}

/** @type {import("../signer").ProviderSigner} */
export const signer = {
  provider: "killb",
  schemes: [
    {
      id: "killb",
      options: {},
      signature: () => ({ header: "x-signature-sha256", malformed: "xyz" }),
      timestamped: false,
      signsBody: true,
      singleUse: false,
      sign(callback, secret) {
        const body = JSON.stringify(callback);
        return { body, headers: { "x-signature-sha256": killbSignature(body, secret) } };
      },
      reference: (body, headers, secret) => header(headers, "x-signature-sha256") === killbSignature(body, secret),
    },
  ],
  freshen: (callback) => ({ ...callback, id: `evt_${randomUUID()}` }),
  onAccount: (callback, account) => ({ ...callback, data: { ...callback.data, userId: `user-${account}` } }),
  account: (callback) => (callback.event === "USER" ? callback.data.id : (callback.data.userId ?? callback.data.id)),
  unknownEvent: { id: "evt_unknown", event: "PAYOUT", action: "UPDATE", data: {}, attempts: 0 },
  benchFixture: "ramp-completed",
  test: {
    // The first vector's secret (test/fixtures/vectors.json).
    secrets: { KILLB_WEBHOOK_SECRET: "GJD6cyf6xbc@bvx6rvu" },
    sources: () => ({ killb: { provider: "killb", secrets: ["KILLB_WEBHOOK_SECRET"] } }),
    kits: [{ source: "killb", scheme: "killb" }],
  },
};
