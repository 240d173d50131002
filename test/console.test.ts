/**
 * The operator console's files as the Worker serves them (src/console.ts) from the real assets
 * binding (wrangler.toml `[assets]`, the directory scripts/build-console.mjs writes; `npm test`
 * builds it first): the security headers on every answer, a cache policy per file, the redirect
 * of /console, 404 for a path with no file, and no secret in any file. What the page does is
 * tested in Chromium: test/e2e/console.e2e.test.ts.
 */
import { describe, expect, it } from "vitest";
import { CONSOLE_CSP } from "../src/console";
import { call, secrets } from "./support/gateway";

const GATEWAY = "https://gateway.test";
const get = (path: string, init: RequestInit = {}) => call(new Request(`${GATEWAY}${path}`, { redirect: "manual", ...init }));

const EXPECTED_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

function securityHeaders(response: Response) {
  return {
    csp: response.headers.get("content-security-policy"),
    nosniff: response.headers.get("x-content-type-options"),
    referrer: response.headers.get("referrer-policy"),
  };
}
const SECURED = { csp: EXPECTED_CSP, nosniff: "nosniff", referrer: "no-referrer" };

/** The files index.html names: its stylesheets and its one script. */
function referenced(html: string): string[] {
  return [...html.matchAll(/(?:src|href)="\.\/([^"]+)"/g)].map((m) => m[1] as string);
}

async function page(): Promise<{ response: Response; html: string }> {
  const response = await get("/console/");
  const html = await response.text();
  if (response.status !== 200)
    throw new Error(`GET /console/ answered ${response.status}: run node scripts/build-console.mjs (npm test does)`);
  return { response, html };
}

describe("GET /console/", () => {
  it("is the page, with the policy, nosniff, no referrer, and a check on every load", async () => {
    const { response, html } = await page();
    expect(CONSOLE_CSP).toBe(EXPECTED_CSP);
    expect(securityHeaders(response)).toEqual(SECURED);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    expect(response.headers.get("cache-control")).toBe("no-cache");
    expect(html).toContain('<div id="app">');
  });

  it("has no inline script, no inline style, no event-handler attribute: the policy would refuse them", async () => {
    const { html } = await page();
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.map((m) => ({ external: /\bsrc="\.\/app\.[0-9a-f]{12}\.js"/.test(m[1] ?? ""), body: m[2] }))).toEqual([
      { external: true, body: "" },
    ]);
    expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=|javascript:/i);
    expect(referenced(html)).toEqual([
      expect.stringMatching(/^uplot\.[0-9a-f]{12}\.css$/),
      expect.stringMatching(/^app\.[0-9a-f]{12}\.css$/),
      expect.stringMatching(/^app\.[0-9a-f]{12}\.js$/),
    ]);
  });

  it("names scripts and styles by content hash: served for a year without a check, with the same headers", async () => {
    const { html } = await page();
    for (const file of referenced(html)) {
      const response = await get(`/console/${file}`);
      expect(response.status, file).toBe(200);
      expect(securityHeaders(response), file).toEqual(SECURED);
      expect(response.headers.get("cache-control"), file).toBe("public, max-age=31536000, immutable");
      expect(response.headers.get("content-type"), file).toMatch(file.endsWith(".js") ? /^(application|text)\/javascript/ : /^text\/css/);
      expect((await response.text()).length, file).toBeGreaterThan(1000);
    }
  });

  it("HEAD answers like GET without a body", async () => {
    const response = await get("/console/", { method: "HEAD" });
    expect([response.status, securityHeaders(response), await response.text()]).toEqual([200, SECURED, ""]);
  });

  it("no file of the console holds a secret of the configuration", async () => {
    const { html } = await page();
    const texts = [html, ...(await Promise.all(referenced(html).map(async (f) => (await get(`/console/${f}`)).text())))];
    const values = Object.values(secrets).filter((v) => v.length >= 8);
    expect(values.length).toBeGreaterThan(5);
    for (const text of texts) expect(values.filter((secret) => text.includes(secret))).toEqual([]);
  });
});

describe("other console paths", () => {
  it("/console redirects to /console/ (the page's relative paths need the slash), query kept", async () => {
    const response = await get("/console?from=link");
    expect([response.status, response.headers.get("location"), securityHeaders(response)]).toEqual([308, "/console/?from=link", SECURED]);
  });

  it.each(["/console/nope.js", "/console/events", "/console/app.000000000000.js"])(
    "%s: no such file is 404, never the page (no single-page fallback)",
    async (path) => {
      const response = await get(path);
      expect([response.status, await response.json(), securityHeaders(response)]).toEqual([404, { error: "not_found" }, SECURED]);
      expect(response.headers.get("cache-control")).toBe("no-store");
    },
  );

  it("paths beside the console are not the console: /consoles and /index.html are the gateway's 404", async () => {
    for (const path of ["/consoles", "/index.html", "/console.html"]) {
      const response = await get(path);
      expect([path, response.status, response.headers.get("content-security-policy")]).toEqual([path, 404, null]);
    }
  });

  it("POST is 405 with Allow: GET, HEAD", async () => {
    const response = await get("/console/", { method: "POST", body: "x" });
    expect([response.status, response.headers.get("allow"), securityHeaders(response)]).toEqual([405, "GET, HEAD", SECURED]);
  });
});
