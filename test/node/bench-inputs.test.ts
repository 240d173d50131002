/**
 * The bench's inputs stay in step with the gateway: every registered provider's bench request
 * goes through the pure path that `npm run bench` times (scripts/bench/pure-path.ts, bundled as
 * the bench bundles it) and comes out as a forwardable event. Without this, a change to the
 * pipeline (e.g. a verifier returning signed fields from outside the body) can break the bench
 * while every other test passes, and it is found only minutes into a bench run.
 */
import { describe, expect, it } from "vitest";
import { PROVIDERS, requests, SECRETS, SOURCES } from "../../scripts/bench/fixtures.mjs";
import { importTs } from "../../scripts/lib/import-ts.mjs";
import { PROVIDER_NAMES } from "../../src/providers/registry";

const URL_BASE = "https://gateway.example/webhooks/";

describe("bench inputs", () => {
  it("cover every registered provider", () => {
    expect([...PROVIDERS].sort()).toEqual([...PROVIDER_NAMES].sort());
  });

  it("each provider's new-event requests pass the pure path the CPU bench times", async () => {
    const { sources, purePath } = await importTs("scripts/bench/pure-path.ts");
    const configured = sources({ ...SECRETS, SOURCES, ORIGIN_URL: "https://origin.example/" });
    for (const provider of PROVIDERS) {
      const url = URL_BASE + provider;
      for (const request of requests(provider, url, "new", 3)) {
        const signed = {
          body: new TextEncoder().encode(request.body),
          headers: new Headers(request.headers),
          method: "POST",
          url,
          now: Date.now(),
        };
        await expect(purePath(configured.get(provider), signed), provider).resolves.toBeUndefined();
      }
    }
  });
});
