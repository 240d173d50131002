/**
 * How each source's events are signed for its origin (docs/configuration.md "Signing and
 * destinations"): `v1` HMAC keys from `whsec_` secrets and `v1a` Ed25519 keys from `whsk_`
 * secrets, newest first. A source that names `originSecret` or `originSigningKey` signs with
 * exactly what it names; the others sign with the defaults, ORIGIN_SECRET (+ _PREVIOUS) and
 * ORIGIN_SIGNING_KEY (+ _PREVIOUS), whichever are set. Errors name the field and the binding,
 * never a value.
 */
import type { OriginSigning } from "./destinations";
import { fromBase64 } from "./verify/crypto";
import { signingKeyBytes } from "./verify/ed25519";

type Kind = "hmac" | "ed25519";

const FORMAT: Record<Kind, string> = {
  hmac: "must be whsec_ followed by standard base64 of at least 24 bytes",
  ed25519: "must be whsk_ followed by standard base64 of a 32-byte Ed25519 seed or the 64-byte seed and public key",
};

/** The key in one secret's value, or undefined when it is not of its kind's format. */
function decode(kind: Kind, value: string): Uint8Array<ArrayBuffer> | undefined {
  if (kind === "ed25519") return signingKeyBytes(value);
  const key = value.startsWith("whsec_") ? fromBase64(value.slice(6)) : undefined;
  return key !== undefined && key.length >= 24 ? key : undefined;
}

function value(env: Record<string, unknown>, name: string): string | undefined {
  const raw = env[name];
  return typeof raw === "string" && raw !== "" ? raw : undefined;
}

/** The defaults, read once: each list empty when its current binding is not set. */
export interface DefaultSigning {
  readonly signing: OriginSigning;
  /** Whether ORIGIN_SECRET or ORIGIN_SIGNING_KEY is set: a source without its own keys needs one. */
  readonly any: boolean;
}

/** Reads ORIGIN_SECRET, ORIGIN_SIGNING_KEY and their _PREVIOUS companions, checking each that is set. */
export function readDefaultSigning(env: Record<string, unknown>, errors: string[]): DefaultSigning {
  const read = (kind: Kind, current: string, previous: string): Uint8Array<ArrayBuffer>[] => {
    const keys: Uint8Array<ArrayBuffer>[] = [];
    for (const name of [current, previous]) {
      const text = value(env, name);
      if (text === undefined) continue;
      const key = decode(kind, text);
      if (key === undefined) errors.push(`${name}: ${FORMAT[kind]}`);
      else keys.push(key);
    }
    if (value(env, current) === undefined && value(env, previous) !== undefined) {
      errors.push(`${previous}: is set but ${current} is not (the previous key signs beside the current one, never alone)`);
    }
    return keys;
  };
  const hmac = read("hmac", "ORIGIN_SECRET", "ORIGIN_SECRET_PREVIOUS");
  const ed25519 = read("ed25519", "ORIGIN_SIGNING_KEY", "ORIGIN_SIGNING_KEY_PREVIOUS");
  return { signing: { hmac, ed25519 }, any: value(env, "ORIGIN_SECRET") !== undefined || value(env, "ORIGIN_SIGNING_KEY") !== undefined };
}

/** A source's `originSecret` / `originSigningKey`: one binding name or a list of them, newest first. */
export type BindingNames = string | readonly string[] | undefined;

/**
 * A source's signing keys: the bindings it names, or undefined when it names none (it signs with
 * the defaults; `defaultsMissing` says whether they hold a key). Pushes an error for a binding
 * that is not set, not of its format, or named twice, and then returns no keys.
 */
export function sourceSigning(
  at: string,
  own: { readonly originSecret?: BindingNames; readonly originSigningKey?: BindingNames },
  env: Record<string, unknown>,
  errors: string[],
): OriginSigning | undefined {
  if (own.originSecret === undefined && own.originSigningKey === undefined) return undefined;
  const before = errors.length;
  const read = (field: "originSecret" | "originSigningKey", kind: Kind): Uint8Array<ArrayBuffer>[] => {
    const names = own[field];
    const list = names === undefined ? [] : typeof names === "string" ? [names] : names;
    const keys: Uint8Array<ArrayBuffer>[] = [];
    for (const [i, name] of list.entries()) {
      if (list.indexOf(name) !== i) {
        errors.push(`${at}.${field}: names ${name} twice`);
        continue;
      }
      const text = value(env, name);
      const key = text === undefined ? undefined : decode(kind, text);
      if (text === undefined) errors.push(`${at}.${field}: secret binding ${name} is not set`);
      else if (key === undefined) errors.push(`${at}.${field}: secret binding ${name} ${FORMAT[kind]}`);
      else keys.push(key);
    }
    return keys;
  };
  const signing = { hmac: read("originSecret", "hmac"), ed25519: read("originSigningKey", "ed25519") };
  return errors.length > before ? { hmac: [], ed25519: [] } : signing;
}

/** The one error for sources that sign with the defaults when neither default key is set. */
export function defaultsMissing(sources: readonly string[], defaults: DefaultSigning): string | undefined {
  if (sources.length === 0 || defaults.any) return undefined;
  const who = sources.length === 1 ? `source ${sources[0]} signs` : `sources ${sources.join(", ")} sign`;
  return `ORIGIN_SECRET: is not set (${who} with the defaults: set ORIGIN_SECRET or ORIGIN_SIGNING_KEY, or give each source its originSecret or originSigningKey)`;
}
