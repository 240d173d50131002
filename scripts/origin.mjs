// A real origin for local runs and tests: an HTTP server on loopback that verifies every event
// with the official `standardwebhooks` package, exactly as an origin team would.
// Used by `npm start` (prints events) and by the test suites (records events, scripted replies).
import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";

/**
 * Starts the origin. Options: port (0 = any free port), host, secret (whsec_...), onEvent(event),
 * pathSecrets ({"/ops": "whsec_..."}: POSTs to that path are verified with that secret instead,
 * as a second receiver: the tests' operations webhook).
 * Returns { url, port, events, close() }. `events` holds every verified delivery:
 * { id, headers, body, json }. Test control endpoints (loopback only, never in production):
 *   GET    /_events?subject=S     verified deliveries (optionally for one CloudEvent subject;
 *                                  or ?path=P: those POSTed to that path)
 *   GET    /_attempts?subject=S   every verified attempt with the status it was answered, its
 *                                  arrival time (`at`, Unix ms) and `path` (or ?path=P)
 *   GET    /_count?path=P         {"attempts": n, "events": n} for that path: cheap to poll
 *   POST   /_faults               {"path": P, "status": 503}: every verified POST to P answers
 *                                  that status (a whole origin down); {"match": T, "status": 500}:
 *                                  every one whose body contains the text T does (a poison
 *                                  payload); "status": null lifts it. Applied before scripts.
 *   DELETE /_events               forget events and attempts
 *   POST   /_script               {"subject": S, "replies": [503, "hang", 200]}: the next replies for S
 *                                  ("hang" = no answer until the gateway gives up; a reply
 *                                  {"status": 503, "retryAfter": "0"} also sends Retry-After)
 *   PUT    /_jwks/N              a JSON Web Key Set (body) published under the name N, served at
 *   GET    /jwks/N/cdn-cgi/access/certs  as Cloudflare Access serves a team's keys: the tests of
 *                                  the Access check use http://<origin>/jwks/N as the team domain
 */
export async function startOrigin({ port = 0, host = "127.0.0.1", secret, pathSecrets = {}, onEvent = () => {}, onInvalid = () => {} }) {
  const webhook = new Webhook(secret);
  const pathWebhooks = new Map(Object.entries(pathSecrets).map(([path, pathSecret]) => [path, new Webhook(pathSecret)]));
  const events = [];
  const attempts = [];
  const scripts = new Map();
  const keySets = new Map();
  const pathFaults = new Map();
  const bodyFaults = new Map();

  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://origin");
    const send = (status, payload) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(payload));
    };

    if (url.pathname === "/_events" && req.method === "GET") {
      const subject = url.searchParams.get("subject");
      const path = url.searchParams.get("path");
      const matches = (e) => (path !== null ? e.path === path : subject === null || e.json.subject === subject);
      return send(200, events.filter(matches));
    }
    if (url.pathname === "/_attempts" && req.method === "GET") {
      const subject = url.searchParams.get("subject");
      const path = url.searchParams.get("path");
      const matches = (a) => (path !== null ? a.path === path : subject === null || a.subject === subject);
      return send(200, attempts.filter(matches));
    }
    if (url.pathname === "/_count" && req.method === "GET") {
      const path = url.searchParams.get("path");
      const count = (list) => list.reduce((n, item) => n + (item.path === path ? 1 : 0), 0);
      return send(200, { attempts: count(attempts), events: count(events) });
    }
    if (url.pathname === "/_faults" && req.method === "POST") {
      const { path, match, status } = JSON.parse(body);
      const faults = path !== undefined ? pathFaults : bodyFaults;
      if (status === null) faults.delete(path ?? match);
      else faults.set(path ?? match, status);
      return send(200, { ok: true });
    }
    if (url.pathname === "/_events" && req.method === "DELETE") {
      events.length = 0;
      attempts.length = 0;
      return send(200, { ok: true });
    }
    if (url.pathname === "/_script" && req.method === "POST") {
      const { subject, replies } = JSON.parse(body);
      scripts.set(subject, [...replies]);
      return send(200, { ok: true });
    }
    const published = /^\/_jwks\/([^/]+)$/.exec(url.pathname);
    if (published !== null && req.method === "PUT") {
      keySets.set(published[1], JSON.parse(body));
      return send(200, { ok: true });
    }
    const certs = /^\/jwks\/([^/]+)\/cdn-cgi\/access\/certs$/.exec(url.pathname);
    if (certs !== null && req.method === "GET") {
      const keys = keySets.get(certs[1]);
      return keys === undefined ? send(404, { error: "no key set" }) : send(200, keys);
    }
    if (req.method !== "POST") return send(405, { error: "method_not_allowed" });

    let json;
    try {
      json = (pathWebhooks.get(url.pathname) ?? webhook).verify(body, req.headers);
    } catch (err) {
      onInvalid(err);
      return send(401, { error: "invalid signature" });
    }
    const fault = pathFaults.get(url.pathname) ?? [...bodyFaults].find(([text]) => body.includes(text))?.[1];
    const next = fault ?? scripts.get(json.subject)?.shift() ?? 200;
    // A reply is a status, "hang", or { status, retryAfter } to send a Retry-After header.
    const scripted = typeof next === "object" ? next.status : next;
    attempts.push({ id: req.headers["webhook-id"], subject: json.subject, status: scripted, at: Date.now(), path: url.pathname });
    if (scripted === "hang") {
      // Never answers in time: the gateway's attempt times out. Closed after 10 s at most.
      setTimeout(() => res.destroy(), 10_000).unref();
      return;
    }
    if (scripted !== 200) {
      if (typeof next === "object" && next.retryAfter !== undefined) res.setHeader("retry-after", String(next.retryAfter));
      return send(scripted, { error: `scripted ${scripted}` });
    }
    const event = { id: req.headers["webhook-id"], headers: req.headers, body, json, path: url.pathname };
    events.push(event);
    onEvent(event);
    return send(200, { ok: true });
  });

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    events,
    server,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
