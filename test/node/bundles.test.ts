/**
 * What each bundle may contain, measured from esbuild's metafile (the bundler wrangler uses):
 * - webhook-gateway/verify holds the registry and the verifiers only: no adapter (a provider
 *   folder's index.ts), no valibot, no test signer, no fixture;
 * - the Worker holds every registered adapter but no test signer and no fixture: signers and
 *   fixtures live in the provider folders for tests and tools, never for production.
 */
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { bundleVerify } from "../../scripts/build-verify.mjs";
import { PROVIDER_NAMES } from "../../src/providers/registry";

const root = fileURLToPath(new URL("../../", import.meta.url));
const inputsOf = (metafile: { inputs: Record<string, unknown> }) => Object.keys(metafile.inputs);
const testOnly = (path: string) => /^src\/providers\/[^/]+\/(signer\.mjs|fixtures\/)/.test(path);

describe("webhook-gateway/verify", () => {
  it("holds the registry and every registered verifier, and no adapter, valibot, signer or fixture", async () => {
    const inputs = inputsOf((await bundleVerify({ write: false })).metafile);
    expect(inputs).toContain("src/providers/registry.ts");
    for (const name of PROVIDER_NAMES) expect(inputs).toContain(`src/providers/${name}/verify.ts`);
    expect(inputs.filter((path) => /^src\/providers\/[^/]+\/index\.ts$/.test(path))).toEqual([]);
    expect(inputs.filter((path) => path.includes("valibot") || testOnly(path))).toEqual([]);
  });
});

describe("the Worker", () => {
  it("holds every registered adapter and no test signer or fixture", async () => {
    const result = await build({
      absWorkingDir: root,
      entryPoints: ["src/index.ts"],
      bundle: true,
      format: "esm",
      platform: "neutral",
      conditions: ["workerd", "worker", "browser"],
      external: ["cloudflare:*"],
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    const inputs = inputsOf(result.metafile);
    for (const name of PROVIDER_NAMES) expect(inputs).toContain(`src/providers/${name}/index.ts`);
    expect(inputs.filter(testOnly)).toEqual([]);
  });
});
