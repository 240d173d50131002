// The durable floor: the least any durable-before-ack webhook design can do per request, run by
// `npm run bench` beside the gateway. It reads the body, computes one HMAC-SHA256 of it with
// WebCrypto, and makes one Durable Object RPC to the account's SQLite-backed object, which runs
// one `INSERT OR IGNORE` of that 32-byte MAC into a `WITHOUT ROWID` table; then answers 200.
// No parsing, no KV, no outbox, no delivery. The bench names the account in the
// `x-bench-account` header, so one account and 100 accounts can be measured.
import { DurableObject } from "cloudflare:workers";

/** A fixed bench-only key: the floor pays for one MAC, not for a secret lookup. */
const KEY_BYTES = new TextEncoder().encode("bench-floor-hmac-key-0123456789ab");
let key;

export class FloorAccount extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS seen (key BLOB PRIMARY KEY) WITHOUT ROWID");
  }

  /** One row written for a new key, none for a repeat: the durable record before the ack. */
  claim(mac) {
    return this.sql.exec("INSERT OR IGNORE INTO seen (key) VALUES (?)", mac).rowsWritten;
  }
}

export default {
  async fetch(request, env) {
    const body = await request.arrayBuffer();
    key ??= await crypto.subtle.importKey("raw", KEY_BYTES, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const mac = await crypto.subtle.sign("HMAC", key, body);
    const account = request.headers.get("x-bench-account") ?? "0";
    await env.FLOOR.get(env.FLOOR.idFromName(account)).claim(mac);
    return new Response("ok");
  },
};
