/**
 * The provider registry is complete (docs/architecture.md "How to add a provider"): every folder
 * under src/providers/ that holds a provider is registered in src/providers/registry.ts, and every
 * registered provider has everything the gateway, the tests and the tools derive from it, so a
 * half-added provider fails here with a message that says what is missing and where.
 */
import { describe, expect, it } from "vitest";
import { PROVIDERS } from "../../src/event";
import { providers } from "../../src/providers";
import { PROVIDER_NAMES, VERIFIERS } from "../../src/providers/registry";
import * as api from "../../src/verify/index";
import cases from "../fixtures/verify-cases.json" with { type: "json" };
import { kits, providerFixtures } from "../support/kits";
import { signerProblems, signers } from "../support/providers";
import { testSources } from "../support/test-config";

const folderOf = (path: string) => path.split("/")[4]!;
const folders = (paths: Record<string, unknown>) => [...new Set(Object.keys(paths).map(folderOf))].sort();

// Every provider folder, found by the files it holds (Vite resolves these globs at build time).
const indexes = import.meta.glob("../../src/providers/*/index.ts");
const verifiers = import.meta.glob("../../src/providers/*/verify.ts");
const signerFiles = import.meta.glob("../../src/providers/*/signer.mjs");
const readmes = import.meta.glob<string>("../../src/providers/*/README.md", { query: "?raw", import: "default", eager: true });
const docPages = import.meta.glob<string>("../../docs/providers/*.md", { query: "?raw", import: "default", eager: true });

const registered = new Set<string>(PROVIDER_NAMES);
const missing = (what: string, names: readonly string[]) => names.map((name) => `${name}: ${what}`);

describe("the provider registry", () => {
  it("lists every provider folder (a folder with an index.ts or verify.ts)", () => {
    const found = [...new Set([...folders(indexes), ...folders(verifiers)])];
    expect(found.length).toBeGreaterThan(0);
    expect(
      missing(
        "has a folder under src/providers/ but no line in src/providers/registry.ts",
        found.filter((n) => !registered.has(n)),
      ),
    ).toEqual([]);
  });

  it("is what the event contract, the Worker and webhook-gateway/verify list, in the same order", () => {
    expect([...PROVIDERS]).toEqual([...PROVIDER_NAMES]);
    expect(Object.keys(providers)).toEqual([...PROVIDER_NAMES]);
    expect([...api.PROVIDERS]).toEqual([...PROVIDER_NAMES]);
    for (const name of PROVIDER_NAMES) {
      expect(VERIFIERS[name].name, `src/providers/${name}/verify.ts names itself`).toBe(name);
      expect(providers[name].name, `src/providers/${name}/index.ts names itself`).toBe(name);
    }
  });

  it("gives every registered provider its folder: verifier, adapter, signer, fixtures and a README that links its doc page", () => {
    const problems = PROVIDER_NAMES.flatMap((name) => {
      const at = `src/providers/${name}/`;
      const readme = readmes[`../../src/providers/${name}/README.md`];
      const page = `docs/providers/${name}.md`;
      return [
        ...(folders(verifiers).includes(name) ? [] : [`${name}: no ${at}verify.ts (the verifier)`]),
        ...(folders(indexes).includes(name) ? [] : [`${name}: no ${at}index.ts (the adapter)`]),
        ...(folders(signerFiles).includes(name) ? [] : [`${name}: no ${at}signer.mjs (the test signer)`]),
        ...(signerProblems.has(name) ? [`${name}: ${at}signer.mjs does not load: ${signerProblems.get(name)}`] : []),
        ...((providerFixtures.get(name)?.length ?? 0) > 0 ? [] : [`${name}: no fixtures in ${at}fixtures/`]),
        ...(readme === undefined ? [`${name}: no ${at}README.md`] : []),
        ...(readme !== undefined && !readme.includes(`../../../${page}`) ? [`${name}: ${at}README.md does not link ../../../${page}`] : []),
        ...(docPages[`../../${page}`] === undefined ? [`${name}: no doc page ${page}`] : []),
      ];
    });
    expect(problems).toEqual([]);
  });

  it("gives every registered provider a test source, a contract kit and its verify cases, current with its fixtures", () => {
    const sources = testSources("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----");
    const problems = PROVIDER_NAMES.flatMap((name) => {
      const signer = signers.get(name);
      if (signer === undefined) return [`${name}: no test signer`];
      const ownSources = Object.values(sources).filter((source) => source.provider === name);
      const ownKits = kits.filter((kit) => kit.provider === name);
      // The cases `npm run verify:cases` writes for this provider: one valid case per scheme and fixture.
      const expected = signer.schemes.flatMap((scheme) =>
        (providerFixtures.get(name) ?? []).map(([fixture]) => `${scheme.id}/${fixture}: valid`),
      );
      const written = new Set(cases.filter((c) => c.provider === name).map((c) => c.name));
      const stale = expected.filter((n) => !written.has(n));
      return [
        ...(ownSources.length > 0 ? [] : [`${name}: no test source (its signer's test.sources)`]),
        ...(ownKits.length > 0 ? [] : [`${name}: no contract kit (its signer's test.kits)`]),
        ...(stale.length === 0 ? [] : [`${name}: test/fixtures/verify-cases.json lacks ${stale.join(", ")}: run npm run verify:cases`]),
      ];
    });
    expect(problems).toEqual([]);
  });
});
