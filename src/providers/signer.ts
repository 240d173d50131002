/**
 * What a provider folder's `signer.mjs` exports as `signer`: how the provider signs its
 * callbacks, written from the provider's own docs with Node's crypto (a second implementation,
 * independent of the gateway's WebCrypto verifiers), and what the tests, `npm run send`, the
 * bench and `npm run verify:cases` need to know about the provider. Node's crypto also runs in
 * the workerd test runner (it has nodejs_compat). Types only: nothing in the Worker imports a
 * signer (test/node/bundles.test.ts checks the bundle).
 */

export type Callback = Record<string, unknown>;

export interface Signed {
  readonly body: string;
  /** The signature headers only; senders add `content-type`. */
  readonly headers: Record<string, string>;
}

export interface SignContext {
  /** The full URL the callback is posted to. */
  readonly url: string;
  /** Unix ms the provider signs at. */
  readonly now: number;
  /** The receiving source's options (Coins: its `scheme`, `signatureHeader`, `signedUrl`...). */
  readonly options: Readonly<Record<string, unknown>>;
}

/** Where a scheme's signature travels: a header (and a value of it that cannot decode), or a member of the JSON body (Cregis `sign`). */
export type SignatureSpot = { readonly header: string; readonly malformed: string } | { readonly field: string };

export interface SigningScheme {
  /** Names the scheme in case and kit names: the provider's name, or e.g. `coins-hmac`. */
  readonly id: string;
  /** The source options that select this scheme (Coins: `{ scheme: "hmac-sha256" }`; one-scheme providers: `{}`). */
  readonly options: Readonly<Record<string, unknown>>;
  /** Where the signature is, for a source with these options. */
  signature(options: Readonly<Record<string, unknown>>): SignatureSpot;
  /** The signature carries a time the gateway checks against a window. */
  readonly timestamped: boolean;
  /** The signature covers the body (Coins' static token does not). */
  readonly signsBody: boolean;
  /** A signed request is good once only (a signed nonce): sent again, it is a replay. */
  readonly singleUse: boolean;
  /**
   * Keys for a scheme that is not a shared secret (Coins rsa-sha256): what the verify cases sign
   * with, a key the verifier must refuse, and what the verifier is given.
   */
  readonly keyPair?: () => {
    readonly sign: string;
    readonly wrong: string;
    readonly verifyWith: { readonly secrets: readonly string[]; readonly options: Readonly<Record<string, unknown>> };
  };
  /**
   * The provider's form of a tools' plain-text test secret, for a scheme whose secrets have a
   * format (Standard Webhooks: `whsec_` + base64): what the verify cases and the bench configure
   * the gateway with. `sign` takes either form. Default: the text itself.
   */
  readonly secret?: (text: string) => string;
  /** Signs a callback as the provider does with `key` (a secret; for a key pair, the PEM private key). */
  sign(callback: Callback, key: string, context: SignContext): Signed;
  /**
   * The provider's check, written from its formula: would it call this (possibly mutated)
   * request validly signed with `key`? `headers` as the runtime hands them over. The fuzz
   * test's oracle.
   */
  reference(body: Uint8Array, headers: Readonly<Record<string, string>>, key: string, context: SignContext): boolean;
}

/** A `SOURCES` entry of the test gateway. */
export type TestSource = { readonly provider: string } & Readonly<Record<string, unknown>>;

/** Keys each test run makes (vitest.config.ts): an RSA pair, public here, private in the `TEST_COINS_PRIVATE_KEY` binding. */
export interface TestRun {
  readonly rsaPublicKey: string;
}

/** A source the contract and fuzz suites sign for. */
export interface ContractKit {
  /** A source of this provider's `test.sources`. */
  readonly source: string;
  /** The `id` of the scheme that source uses. */
  readonly scheme: string;
  /** The signing key, from the test run's bindings. Default: the value of the source's first secret binding. */
  key?(bindings: Readonly<Record<string, unknown>>): string;
  /** A key the source refuses. Default: a secret it is not configured with. */
  wrongKey?(): string;
}

export interface ProviderSigner {
  /** The registered name (src/providers/registry.ts). */
  readonly provider: string;
  /** Its signing schemes; the first one the source's options select is the one `npm run send` and the bench use. */
  readonly schemes: readonly SigningScheme[];
  /** The callback with a new idempotency key, so a fixture can be sent again as a new event. */
  freshen(callback: Callback, seed: number): Callback;
  /** The callback moved to account `account` (the bench spreads events over accounts). */
  onAccount(callback: Callback, account: number): Callback;
  /** The account the gateway files the callback under (the CloudEvent subject). */
  account(callback: Callback): string;
  /** A well-formed body of an event the adapter does not know (it is quarantined). */
  readonly unknownEvent: Callback;
  /** The fixture the bench sends. */
  readonly benchFixture: string;
  /** What the test gateway runs with for this provider (test/support/test-config.ts). */
  readonly test: {
    /** Secret bindings: public example values, never real credentials. */
    readonly secrets: Readonly<Record<string, string>>;
    sources(run: TestRun): Readonly<Record<string, TestSource>>;
    readonly kits: readonly ContractKit[];
  };
}
