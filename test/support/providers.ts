/**
 * Every registered provider's test signer (src/providers/<name>/signer.mjs), found through the
 * registry: test-config, the kits and the registry test derive from these, so a provider is
 * added to the test gateway by its folder and its registry line alone. Loaded by URL, which
 * works wherever this runs: vitest.config.ts's loader, Node (e2e) and the workerd runner.
 * A signer that does not load is recorded, not thrown, so the registry test can name it.
 */
import { PROVIDER_NAMES, type ProviderName } from "../../src/providers/registry";
import type { ProviderSigner } from "../../src/providers/signer";

async function load(name: ProviderName): Promise<ProviderSigner | string> {
  try {
    const url = new URL(`../../src/providers/${name}/signer.mjs`, import.meta.url).href;
    const module = (await import(/* @vite-ignore */ url)) as { signer?: ProviderSigner };
    if (module.signer?.provider !== name) return `exports no \`signer\` for ${name}`;
    return module.signer;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

const loaded = await Promise.all(PROVIDER_NAMES.map(async (name) => [name, await load(name)] as const));

/** Name → signer, in registry order; registered providers whose signer did not load are left out. */
export const signers: ReadonlyMap<ProviderName, ProviderSigner> = new Map(
  loaded.flatMap(([name, signer]) => (typeof signer === "string" ? [] : [[name, signer] as const])),
);

/** Name → why its signer did not load. */
export const signerProblems: ReadonlyMap<ProviderName, string> = new Map(
  loaded.flatMap(([name, signer]) => (typeof signer === "string" ? [[name, signer] as const] : [])),
);
