/**
 * The portable verification suite: runs unchanged in workerd, Node and a browser (see
 * test/verify/*.test.ts). It uses nothing but the module under test and Web standards, and
 * returns results instead of asserting, so each runtime's harness reports them.
 * Cases: every independent vector (test/fixtures/vectors.json) and every one-byte change of it, plus the
 * contract cases of every registered provider's fixtures (test/fixtures/verify-cases.json, signed
 * with Node's crypto by each provider's test signer, src/providers/<name>/signer.mjs), and the
 * published Standard Webhooks v1a (Ed25519) vectors (docs/vectors/standard-webhooks-v1a.json).
 */

import v1a from "../../docs/vectors/standard-webhooks-v1a.json" with { type: "json" };
import vectors from "../fixtures/vectors.json" with { type: "json" };
import cases from "../fixtures/verify-cases.json" with { type: "json" };

type Api = typeof import("../../src/verify/index");
export interface Result {
  name: string;
  ok: boolean;
  detail?: string;
}

function* oneByteChanges(text: string): Generator<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  for (let i = 0; i < bytes.length; i++) {
    const changed = bytes.slice();
    changed[i] = (changed[i] as number) ^ 0x01;
    yield changed;
  }
}
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/**
 * How many results a complete run returns: three per vector (accepted, body changes, header
 * changes), one more per Standard Webhooks vector (the signer), one per contract case, the
 * check that every provider the module lists has contract cases, and the two misuse checks.
 * Harnesses compare the count, so a check that silently did not run fails.
 */
export const PLANNED_CHECKS =
  3 * (vectors.cybavo.length + vectors.cregis.length + vectors.killb.length + vectors.cabital.length) +
  4 * vectors["standard-webhooks"].length +
  cases.length +
  v1a.valid.length +
  v1a.invalid.length +
  3;

export async function runSuite(api: Api): Promise<Result[]> {
  const results: Result[] = [];
  const check = async (name: string, run: () => Promise<boolean | string>) => {
    try {
      const outcome = await run();
      results.push(outcome === true ? { name, ok: true } : { name, ok: false, detail: String(outcome) });
    } catch (err) {
      results.push({ name, ok: false, detail: `threw ${err instanceof Error ? err.message : String(err)}` });
    }
  };
  /** Accepts the vector, refuses every one-byte change of body and of each signed header. */
  const vector = async (
    name: string,
    accept: (body: string | Uint8Array, headers: Record<string, string>) => Promise<boolean>,
    body: string,
    headers: Record<string, string>,
  ) => {
    await check(`${name}: accepted`, () => accept(body, headers));
    await check(`${name}: every one-byte change of the body refused`, async () => {
      for (const changed of oneByteChanges(body)) if (await accept(changed, headers)) return `accepted a change: ${decode(changed)}`;
      return true;
    });
    await check(`${name}: every one-byte change of a signed header refused`, async () => {
      for (const [header, value] of Object.entries(headers)) {
        for (const changed of oneByteChanges(value))
          if (await accept(body, { ...headers, [header]: decode(changed) })) return `accepted ${header}: ${decode(changed)}`;
      }
      return true;
    });
  };

  for (const v of vectors.cybavo) {
    await vector(
      `cybavo ${v.name}`,
      async (body, headers) => (await api.verify("cybavo", { body, headers, secrets: [v.apiSecret] })).ok,
      v.body,
      v.headers,
    );
  }
  for (const v of vectors.cregis) {
    const body = v.body.includes('"sign"') ? v.body : `${v.body.slice(0, -1)},"sign":"${v.expectedSign}"}`;
    await vector(`cregis ${v.name}`, async (b) => (await api.verify("cregis", { body: b, headers: {}, secrets: [v.apiKey] })).ok, body, {});
  }
  for (const v of vectors.killb) {
    await vector(
      `killb ${v.name}`,
      async (body, headers) => (await api.verify("killb", { body, headers, secrets: [v.secret] })).ok,
      v.body,
      v.headers,
    );
  }
  for (const v of vectors.cabital) {
    const now = Number(v.headers["ACCESS-TIMESTAMP"]) * 1000;
    const signed = {
      "ACCESS-TIMESTAMP": v.headers["ACCESS-TIMESTAMP"],
      "ACCESS-NONCE": v.headers["ACCESS-NONCE"],
      "ACCESS-SIGN": v.headers["ACCESS-SIGN"],
    };
    const accept = async (body: string | Uint8Array, headers: Record<string, string>) =>
      (
        await api.verify("cabital", {
          body,
          headers: { "ACCESS-KEY": v.headers["ACCESS-KEY"], ...headers },
          secrets: [v.secret],
          url: `https://gw.example${v.pathWithQuery}`,
          method: v.method,
          now,
        })
      ).ok;
    await vector(`cabital ${v.name}`, accept, v.body, signed);
  }
  for (const v of vectors["standard-webhooks"]) {
    const timestamp = Number(v.timestamp);
    await check(`standard-webhooks ${v.name}: signWebhook matches`, async () => {
      const headers = await api.signWebhook({ id: v.id, body: v.body, secrets: [v.secret], timestamp });
      return headers["webhook-signature"] === v.expectedSignature || `got ${headers["webhook-signature"]}`;
    });
    const headers = { "webhook-id": v.id, "webhook-timestamp": v.timestamp, "webhook-signature": v.expectedSignature };
    await vector(
      `standard-webhooks ${v.name} verifyWebhook`,
      async (body, h) =>
        (
          await api.verifyWebhook({
            body: typeof body === "string" ? body : decode(body),
            headers: { ...headers, ...h },
            secrets: [v.secret],
            now: timestamp * 1000,
          })
        ).ok,
      v.body,
      {
        "webhook-signature": v.expectedSignature,
      },
    );
  }

  // v1a: the signer reproduces each published header, and each key's public key alone verifies it.
  type V1aKey = keyof typeof v1a.keys;
  const keyOf = (ref: string) => v1a.keys[ref.split(":")[0] as V1aKey];
  const headersOf = (c: { id: string; timestamp: number; signature: string }) => ({
    "webhook-id": c.id,
    "webhook-timestamp": String(c.timestamp),
    "webhook-signature": c.signature,
  });
  for (const c of v1a.valid) {
    await check(`standard-webhooks v1a ${c.name}: signed and verified`, async () => {
      const signingKeys = c.signingKeys.map((ref) => (ref.endsWith(":seedOnly") ? keyOf(ref).seedOnly : keyOf(ref).signingKey));
      const secrets = c.secrets.map(() => v1a.secrets.hmac);
      const signed = await api.signWebhook({ id: c.id, body: c.body, timestamp: c.timestamp, secrets, signingKeys });
      if (signed["webhook-signature"] !== c.signature) return `signed ${signed["webhook-signature"]}`;
      for (const ref of c.signingKeys) {
        const result = await api.verifyWebhook({
          body: c.body,
          headers: headersOf(c),
          publicKeys: [keyOf(ref).publicKey],
          now: c.timestamp * 1000,
        });
        if (!result.ok) return `${ref}: ${result.reason}`;
      }
      return true;
    });
  }
  for (const c of v1a.invalid) {
    await check(`standard-webhooks v1a ${c.name}: ${c.reason}`, async () => {
      const result = await api.verifyWebhook({
        body: c.body,
        headers: headersOf(c),
        secrets: c.secrets.map(() => v1a.secrets.hmac),
        publicKeys: c.publicKeys.map((ref) => keyOf(ref).publicKey),
        now: c.now,
      });
      return (!result.ok && result.reason === c.reason) || JSON.stringify(result);
    });
  }

  await check("every provider the module lists has contract cases", async () => {
    const without = api.PROVIDERS.filter((provider) => !cases.some((c) => c.provider === provider));
    return without.length === 0 || `no cases for ${without.join(", ")}: run npm run verify:cases`;
  });
  for (const c of cases) {
    await check(`contract ${c.name}`, async () => {
      const result = await api.verify(c.provider as "cybavo", {
        body: c.body,
        headers: c.headers,
        secrets: c.secrets,
        url: c.url,
        now: c.now,
        options: c.options as never,
      });
      return result.ok === c.valid || `expected ${c.valid ? "valid" : "refused"}, got ${JSON.stringify(result)}`;
    });
  }

  await check("hostile input never throws", async () => {
    if (api.PROVIDERS.length === 0) return "no providers to check";
    for (const provider of api.PROVIDERS) {
      // Options the provider's own cases use (Coins needs a scheme).
      const options = cases.find((c) => c.provider === provider)?.options ?? {};
      for (const body of ["", "{", "\u0000", "[]".repeat(5000), new Uint8Array([0xff, 0xfe, 0x00])]) {
        const result = await api.verify(provider, {
          body,
          headers: { "x-checksum": "=", "x-signature-sha256": "zz", "access-sign": "%", "x-merchant-sign": "" },
          secrets: ["s"],
          options: options as never,
        });
        if (result.ok) return `${provider} accepted garbage`;
      }
    }
    return true;
  });
  await check("misuse throws a TypeError", async () => {
    try {
      await api.verify("paypal" as "cybavo", { body: "", headers: {} });
      return "no error";
    } catch (err) {
      return err instanceof TypeError || String(err);
    }
  });
  return results;
}
