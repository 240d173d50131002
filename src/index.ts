/**
 * Worker entry: routes requests and exports the AccountLedger Durable Object class.
 * Contract: ../shared/design/ARCHITECTURE.md; architecture notes: docs/architecture.md.
 */
import { type IRequest, Router } from "itty-router";
import { handleAdmin } from "./admin";
import { loadConfig } from "./config";
import { handleWebhook } from "./ingress";
import { reply } from "./replies";

export { AccountLedger } from "./ledger/AccountLedger";

type Args = [Env, ExecutionContext];

/** The `{source}` path segment, decoded; malformed percent-encoding names no source. */
function sourceName(segment: string | undefined): string {
  try {
    return decodeURIComponent(segment ?? "");
  } catch {
    return "";
  }
}

const router = Router<IRequest, Args, Response>();

router
  .get("/healthz", (_request, env) => {
    const loaded = loadConfig(env);
    if (!loaded.ok) return reply.json(500, { status: "invalid_config", errors: loaded.errors });
    const sources = Object.fromEntries(
      [...loaded.config.sources.values()].map((s) => [s.name, { provider: s.provider.name, secrets: s.secrets.length + s.named.size }]),
    );
    return reply.json(200, { status: "ok", sources, admin: loaded.config.adminToken === undefined ? "disabled" : "enabled" });
  })
  .all("/webhooks/:source", (request, env, ctx) => {
    const loaded = loadConfig(env);
    // A broken configuration must not look like a rejected signature: 503 makes providers retry.
    if (!loaded.ok) return reply.unavailable();
    const source = loaded.config.sources.get(sourceName(request.params.source));
    if (source === undefined) return reply.notFound();
    if (request.method !== "POST") return reply.methodNotAllowed("POST");
    return handleWebhook(request, env, ctx, loaded.config, source);
  })
  .all("/admin/*", (request, env) => {
    const loaded = loadConfig(env);
    if (!loaded.ok) return reply.unavailable();
    return handleAdmin(request, env, loaded.config);
  })
  .all("*", () => reply.notFound());

export default {
  fetch: (request, env, ctx) => router.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
