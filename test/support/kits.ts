/**
 * One "kit" per contract source: how that source's provider signs a body, how a request is
 * broken in each way the contract names, and what a signed but unknown event looks like. Built
 * from every registered provider's test signer (src/providers/<name>/signer.mjs `test.kits`),
 * so a new provider is in the contract and fuzz suites without a line here. Signing uses the
 * signers' Node crypto (the workerd test runner has nodejs_compat); the independent vectors
 * (test/fixtures/vectors.json) are what anchor these schemes to the providers' own values.
 */
import { env } from "cloudflare:workers";
import { cabitalHeaders as cabitalSignature } from "../../src/providers/cabital/signer.mjs";
import { killbSignature as killbHex } from "../../src/providers/killb/signer.mjs";
import type { ContractKit, ProviderSigner, SignatureSpot, SigningScheme, TestSource } from "../../src/providers/signer";
import { digest, toHex, utf8 } from "../../src/verify/crypto";
import { signers } from "./providers";
import { TEST_SECRETS } from "./test-config";

export interface Signed {
  body: string;
  headers: Record<string, string>;
}

export interface SignOptions {
  /** Sign with a key the source does not accept (a wrong secret; Coins RSA: another key pair). */
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
const bindings = env as unknown as Readonly<Record<string, unknown>>;
/** The sources the test gateway runs with (test-config's, as bindings). */
const sources = JSON.parse(String(bindings.SOURCES)) as Record<string, TestSource | undefined>;

const withHeader = (signed: Signed, name: string, value: string | undefined): Signed => {
  const headers = Object.fromEntries(Object.entries(signed.headers).filter(([k]) => k.toLowerCase() !== name.toLowerCase()));
  return { body: signed.body, headers: value === undefined ? headers : { ...headers, [name]: value } };
};

/** A JSON member `"field":"..."` (with its leading comma when `comma`), as a signer writes it. */
const member = (field: string, comma: boolean) => new RegExp(`${comma ? "," : ""}"${field.replace(/[^\w]/g, "\\$&")}":"[^"]*"`);

function breakers(spot: SignatureSpot): Pick<Kit, "malformed" | "missing"> {
  if ("field" in spot) {
    return {
      malformed: (s) => ({ ...s, body: s.body.replace(member(spot.field, false), `"${spot.field}":"zz"`) }),
      missing: (s) => ({ ...s, body: s.body.replace(member(spot.field, true), "") }),
    };
  }
  return { malformed: (s) => withHeader(s, spot.header, spot.malformed), missing: (s) => withHeader(s, spot.header, undefined) };
}

function kitOf(signer: ProviderSigner, contract: ContractKit): Kit {
  const at = `${signer.provider} kit ${contract.source}`;
  const scheme: SigningScheme | undefined = signer.schemes.find((s) => s.id === contract.scheme);
  const source = sources[contract.source];
  if (scheme === undefined || source === undefined)
    throw new Error(`${at}: no scheme ${contract.scheme} or no test source ${contract.source}`);
  const { provider: _provider, secrets, ...options } = source;
  const firstSecret = Array.isArray(secrets) ? String(secrets[0]) : undefined;
  const key = contract.key?.(bindings) ?? (firstSecret === undefined ? undefined : TEST_SECRETS[firstSecret]);
  if (key === undefined) throw new Error(`${at}: no key (the source names no secret and the kit gives no key)`);
  const context = (now: number) => ({ url: `https://gateway.test/webhooks/${contract.source}`, now, options });
  return {
    provider: signer.provider,
    source: contract.source,
    sign: async (callback, o = {}) =>
      scheme.sign(callback, o.wrongSecret ? (contract.wrongKey?.() ?? WRONG) : key, context(o.now ?? Date.now())),
    ...breakers(scheme.signature(options)),
    timestamped: scheme.timestamped,
    signsBody: scheme.signsBody,
    singleUse: scheme.singleUse,
    account: (callback) => signer.account(callback),
    unknownEvent: signer.unknownEvent,
    reference: async (body, headers) => scheme.reference(body, headers, key, context(Date.now())),
  };
}

/** Every registered provider's contract kits, in registry order. */
export const kits: Kit[] = [...signers.values()].flatMap((signer) => signer.test.kits.map((contract) => kitOf(signer, contract)));

const fixtureFiles = import.meta.glob<Record<string, unknown>>("../../src/providers/*/fixtures/*.json", { eager: true, import: "default" });

/** Each provider's fixtures (src/providers/<name>/fixtures/*.json) as [name, callback], by name. */
export const providerFixtures: ReadonlyMap<string, [string, Record<string, unknown>][]> = (() => {
  const out = new Map<string, [string, Record<string, unknown>][]>();
  for (const [path, callback] of Object.entries(fixtureFiles).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const [, , , , provider, , file] = path.split("/");
    if (provider === undefined || file === undefined) continue;
    out.set(provider, [...(out.get(provider) ?? []), [file.replace(/\.json$/, ""), callback]]);
  }
  return out;
})();

/** KillB's header for an exact body text. */
export async function killbSignature(body: string, secret: string = TEST_SECRETS.KILLB_WEBHOOK_SECRET): Promise<string> {
  return killbHex(body, secret);
}

/** Cabital's four headers for an exact body text, with a fresh nonce. */
export async function cabitalHeaders(
  body: string,
  secret: string,
  now: number,
  path = "/webhooks/cabital",
): Promise<Record<string, string>> {
  return cabitalSignature(body, secret, { url: `https://gateway.test${path}`, now });
}

/** SHA-256 hex of a string (for naming things in tests). */
export async function sha(text: string): Promise<string> {
  return toHex(await digest("SHA-256", utf8(text)));
}
