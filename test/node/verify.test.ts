/**
 * The portable verification suite in Node (through the package export webhook-gateway/verify,
 * i.e. the built bundle) and in a real headless Chromium (Debian's /usr/bin/chromium driven by
 * playwright-core), plus the check that the bundle imports nothing outside Web standards.
 * `npm test` builds the bundle first (npm run build:verify).
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleVerify } from "../../scripts/build-verify.mjs";
import { PLANNED_CHECKS, type Result } from "../verify/suite";

const CHROMIUM = "/usr/bin/chromium";

describe("the bundle", () => {
  it("imports nothing outside Web standards (no node:, cloudflare: or package imports)", async () => {
    const result = await bundleVerify({ write: false });
    const imports = Object.values(result.metafile.inputs).flatMap((input) => input.imports.map((i) => i.path));
    // The list the filter below runs over is the module's real import graph, not an empty one.
    expect(imports).toContain("src/verify/crypto.ts");
    expect(imports.filter((path) => /^(node:|cloudflare:)/.test(path) || !path.startsWith("src/"))).toEqual([]);
    const code = result.outputFiles[0]!.text;
    expect(code).not.toMatch(/\bfrom\s*["'](node:|cloudflare:)|\brequire\(|\bimport\(["']/);
  });

  it("is refused by the build if the module ever imports one", async () => {
    await expect(
      build({
        stdin: { contents: 'import "node:crypto"; export {};', resolveDir: ".", loader: "ts" },
        bundle: true,
        write: false,
        logLevel: "silent",
        plugins: [(await import("../../scripts/build-verify.mjs")).webStandardsOnly],
      }),
    ).rejects.toThrow(/only Web standards/);
  });
});

describe("in Node", () => {
  it("passes the whole suite through the package export", async () => {
    const api = await import("webhook-gateway/verify");
    const { runSuite } = await import("../verify/suite");
    const results = await runSuite(api as never);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results).toHaveLength(PLANNED_CHECKS);
  });
});

describe("in headless Chromium", () => {
  let dir: string;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "verify-browser-"));
    // The suite is bundled with the module it tests kept external: the page loads the real
    // dist/verify/index.js, exactly as a site would.
    await build({
      entryPoints: [new URL("../verify/suite.ts", import.meta.url).pathname],
      outfile: join(dir, "suite.js"),
      bundle: true,
      format: "esm",
      platform: "browser",
      logLevel: "silent",
      plugins: [
        {
          name: "module-under-test",
          setup(b) {
            b.onResolve({ filter: /src\/verify\/index$/ }, () => ({ path: "./verify.js", external: true }));
          },
        },
      ],
    });
    const files: Record<string, string> = {
      "/": '<!doctype html><meta charset="utf-8"><title>verify</title>',
      "/verify.js": await readFile(new URL("../../dist/verify/index.js", import.meta.url), "utf8"),
      "/suite.js": await readFile(join(dir, "suite.js"), "utf8"),
    };
    server = createServer((req, res) => {
      const body = files[req.url ?? "/"];
      if (body === undefined) return res.writeHead(404).end();
      res.writeHead(200, { "content-type": req.url === "/" ? "text/html" : "text/javascript" }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("passes the whole suite", async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`).toBe(true);
    const profile = await mkdtemp(join(tmpdir(), "chromium-profile-"));
    // A fresh profile directory per run (launchPersistentContext is how Playwright takes one).
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
      ],
    });
    try {
      const page = await browser.newPage();
      await page.goto(url);
      // Passed as source text: vitest rewrites `import()` in this file's functions for Node.
      const [results, hasNativeMd5] = (await page.evaluate(`(async () => {
        const suite = await import("/suite.js");
        const md5 = await crypto.subtle.digest("MD5", new Uint8Array()).then(() => true, () => false);
        return [await suite.runSuite(await import("/verify.js")), md5];
      })()`)) as [Result[], boolean];
      // The browser has no MD5 in WebCrypto: Cregis verified through the module's own MD5.
      expect(hasNativeMd5).toBe(false);
      expect(results.filter((r) => !r.ok)).toEqual([]);
      expect(results).toHaveLength(PLANNED_CHECKS);
    } finally {
      await browser.close();
      await rm(profile, { recursive: true, force: true });
    }
  }, 120_000);
});
