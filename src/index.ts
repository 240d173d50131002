/**
 * Worker entry: routes requests and exports the AccountLedger Durable Object class.
 * Architecture notes: docs/architecture.md.
 */
import { type IRequest, Router } from "itty-router";
import { handleAdmin } from "./admin";
import { loadConfig } from "./config";
import { serveConsole } from "./console";
import { handleWebhook } from "./ingress";
import { log } from "./log";
import { throttled } from "./log-throttle";
import { recordRejection, rejectionOf } from "./rejections";
import { reply } from "./replies";
import { runScheduled } from "./scheduled";
import { SIGNING_KEYS_PATH, serveSigningKeys } from "./signing-keys";

export { Destination } from "./destination/Destination";
export { BulkJob } from "./jobs/BulkJob";
export { AccountLedger } from "./ledger/AccountLedger";

type Args = [Env, ExecutionContext];

/** The `{source}` path segment, decoded; malformed percent-encoding names no source. */
function sourceName(segment: string | undefined): string {
  try {
    return decodeURIComponent(segment ?? "");
  } catch {
    // No configured source has such a name: the caller gets 404, logged with the raw segment.
    return "";
  }
}

const router = Router<IRequest, Args, Response>();

router
  // Public, so it says only whether the configuration is valid; the details (sources, errors,
  // admin state) are at GET /admin/health, behind the admin token.
  .get("/healthz", (_request, env) => reply.health(loadConfig(env).ok))
  // Public: the v1a public keys origins verify with (src/signing-keys.ts); 503 while the configuration is invalid.
  .get(SIGNING_KEYS_PATH, (_request, env) => {
    const loaded = loadConfig(env);
    return loaded.ok ? serveSigningKeys(loaded.config) : reply.unavailable();
  })
  .all("/webhooks/:source", (request, env, ctx) => {
    const loaded = loadConfig(env);
    // A broken configuration must not look like a rejected signature: 503 makes providers retry.
    if (!loaded.ok) return reply.unavailable();
    const source = loaded.config.sources.get(sourceName(request.params.source));
    if (source === undefined) {
      // Expected (a wrong URL, a scanner), but the one trace of a provider sent to a source that
      // does not exist: the path's segment as sent, cut short.
      // At most one line per 10 s per isolate for all unknown sources (a scanner picks the volume).
      const fields = throttled("", "unknown_source", Date.now(), {
        source: (request.params.source ?? "").slice(0, 100),
        outcome: "unknown_source",
        status: 404,
      });
      if (fields !== null) log("ingress", fields);
      const segment = request.params.source ?? "";
      recordRejection(env, ctx, loaded.config.statsFlushMs, rejectionOf(request, segment, 404, "unknown_source", Date.now()));
      return reply.notFound();
    }
    if (request.method !== "POST") {
      recordRejection(env, ctx, loaded.config.statsFlushMs, rejectionOf(request, source.name, 405, "method_not_allowed", Date.now()));
      return reply.methodNotAllowed("POST");
    }
    return handleWebhook(request, env, ctx, loaded.config, source);
  })
  .all("/admin/*", (request, env) => handleAdmin(request, env, loadConfig(env)))
  // The operator console: static files, served with their security headers (src/console.ts).
  .all("/console", (request, env) => serveConsole(request, env))
  .all("/console/*", (request, env) => serveConsole(request, env))
  .all("*", () => reply.notFound());

export default {
  fetch: (request, env, ctx) => router.fetch(request, env, ctx),
  // Cron triggers (wrangler.toml [triggers]): index retention and the other D1 upkeep (src/scheduled.ts).
  scheduled: (controller, env) => runScheduled(env, controller.scheduledTime),
} satisfies ExportedHandler<Env>;
