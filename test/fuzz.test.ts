/**
 * Property-based fuzzing of the ingress, for every provider (fast-check): random requests and
 * mutations of validly signed fixtures: bit flips in the body, the signature and signed headers,
 * truncated bodies, invalid UTF-8, deeply nested JSON, huge numbers, duplicate keys, wrong
 * content types, with and without an injected storage fault. The gateway must never answer a
 * 5xx other than 503 for the injected fault, never throw, never accept (200) a request the
 * provider's own scheme would not call validly signed (the kit's `reference`), and always ack a
 * request it would (a gateway that refused everything would otherwise pass).
 * Runs FUZZ_RUNS cases per provider (1,000 in `npm test`; see docs/operations.md for 100,000).
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, it } from "vitest";
import { utf8 } from "../src/verify/crypto";
import { post } from "./support/gateway";
import { type Kit, kits } from "./support/kits";

const RUNS = Number(env.FUZZ_RUNS ?? 1000);
const fixtures = import.meta.glob<Record<string, unknown>>("../src/providers/*/fixtures/*.json", { eager: true, import: "default" });

/** Bindings whose ledger calls all fail: the storage fault. */
const faulty = {
  ...env,
  LEDGER: {
    idFromName: (name: string) => env.LEDGER.idFromName(name),
    get: () =>
      new Proxy(
        {},
        {
          get: () => () => Promise.reject(new Error("injected storage fault")),
        },
      ),
  },
} as unknown as Env;

type Mutation = (body: Uint8Array, headers: Record<string, string>) => { body: Uint8Array; headers: Record<string, string> };

const flipBit = (bytes: Uint8Array, index: number, bit: number) => {
  const out = bytes.slice();
  if (out.length > 0) out[index % out.length]! ^= 1 << bit;
  return out;
};

/** Mutations of a signed request, each parameterized by the fuzzer. */
function mutation(): fc.Arbitrary<Mutation> {
  const index = fc.nat();
  const bit = fc.integer({ min: 0, max: 7 });
  const headerNames = (headers: Record<string, string>) => Object.keys(headers).filter((h) => h.toLowerCase() !== "content-type");
  return fc.oneof(
    fc.constant<Mutation>((body, headers) => ({ body, headers })),
    fc.tuple(index, bit).map(
      ([i, b]): Mutation =>
        (body, headers) => ({ body: flipBit(body, i, b), headers }),
    ),
    // Header bits 0-6 only: header values stay ASCII, as they arrive over HTTP.
    fc.tuple(index, index, fc.integer({ min: 0, max: 6 })).map(
      ([h, i, b]): Mutation =>
        (body, headers) => {
          const names = headerNames(headers);
          if (names.length === 0) return { body, headers };
          const name = names[h % names.length]!;
          return { body, headers: { ...headers, [name]: new TextDecoder().decode(flipBit(utf8(headers[name]!), i, b)) } };
        },
    ),
    index.map(
      (i): Mutation =>
        (body, headers) => ({ body: body.slice(0, i % (body.length + 1)), headers }),
    ),
    fc.tuple(index, fc.constantFrom(0xc3, 0xff, 0xfe, 0x80, 0xed)).map(
      ([i, byte]): Mutation =>
        (body, headers) => {
          const out = new Uint8Array(body.length + 1);
          const at = i % (body.length + 1);
          out.set(body.slice(0, at));
          out[at] = byte;
          out.set(body.slice(at), at + 1);
          return { body: out, headers };
        },
    ),
    fc.integer({ min: 1, max: 5000 }).map(
      (depth): Mutation =>
        (_body, headers) => ({ body: utf8(`${"[".repeat(depth)}${"]".repeat(depth)}`), headers }),
    ),
    fc.bigInt({ min: 10n ** 20n, max: 10n ** 400n }).map(
      (n): Mutation =>
        (body, headers) => ({
          body: utf8(new TextDecoder().decode(body).replace(/:(\d+)/, `:${n}`)),
          headers,
        }),
    ),
    fc.constant<Mutation>((body, headers) => ({
      body: utf8(new TextDecoder().decode(body).replace(/^\{"([^"]+)":([^,}]+)/, '{"$1":$2,"$1":1')),
      headers,
    })),
    fc.constantFrom("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "").map(
      (type): Mutation =>
        (body, headers) => ({ body, headers: { ...headers, "content-type": type } }),
    ),
    fc.constant<Mutation>((body, headers) => ({
      body,
      headers: Object.fromEntries(Object.entries(headers).filter(([h]) => h.toLowerCase() === "content-type")),
    })),
  );
}

function fixturesOf(kit: Kit): Record<string, unknown>[] {
  return Object.entries(fixtures)
    .filter(([path]) => path.split("/")[3] === kit.provider)
    .map(([, callback]) => callback);
}

describe.each(kits)("fuzz $source", (kit) => {
  it(`${RUNS} random and mutated requests: no 5xx but an injected 503, no forged event accepted, every signed one acked, no exception`, async () => {
    const signedFixtures = await Promise.all(fixturesOf(kit).map((callback) => kit.sign(callback)));
    const randomRequest = fc.record({
      body: fc.uint8Array({ maxLength: 512 }),
      headers: fc.dictionary(
        fc.constantFrom(...Object.keys(signedFixtures[0]!.headers), "content-type", "x-other"),
        fc.string({ maxLength: 80 }),
        {
          maxKeys: 4,
        },
      ),
    });
    const mutatedRequest = fc.tuple(fc.nat({ max: signedFixtures.length - 1 }), mutation()).map(([i, mutate]) => {
      const signed = signedFixtures[i]!;
      return mutate(utf8(signed.body), { "content-type": "application/json", ...signed.headers });
    });

    await fc.assert(
      fc.asyncProperty(fc.oneof(randomRequest, mutatedRequest), fc.boolean(), async (request, storageFault) => {
        // Header values no HTTP request can carry (NUL, CR, LF) cannot reach a Worker: skipped.
        fc.pre(Object.values(request.headers).every((value) => !/[\0\r\n]/.test(value)));
        const response = await post(kit.source, request.body, request.headers, storageFault ? faulty : undefined);
        const status = response.status;
        await response.body?.cancel();
        // The oracle judges the headers as the runtime hands them to the Worker (Headers
        // normalizes values, e.g. a NUL becomes a space: an HTTP parser would have refused it).
        const seen = Object.fromEntries(new Headers(request.headers));
        const valid = await kit.reference(request.body, seen);
        // A validly signed request is acked (accepted, duplicate or quarantined), or, when
        // storage fails, refused with 503 unless the edge cache already knows it; a single-use
        // signature (a nonce) sent again is a replay. Bodies here are far below the size cap.
        if (valid && storageFault) return status === 503 || status === 200;
        if (valid) return status === 200 || (kit.singleUse && status === 401);
        // Anything else is refused: never acked, never a 5xx.
        return status === 401 || status === 413;
      }),
      { numRuns: RUNS },
    );
  }, 600_000);
});
