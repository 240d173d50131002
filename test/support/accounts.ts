/** Test helpers that reach an account's ledger by the name the gateway gives it (src/object-names.ts). */
import { env } from "cloudflare:workers";
import { accountLedger } from "../../src/object-names";
import { runAlarmNow } from "./alarms";

/** Runs the account's alarms until nothing is pending (any account key, `~stats` included). */
export async function drainAccount(source: string, account: string, maxRuns = 100): Promise<void> {
  const stub = accountLedger(env, source, account);
  for (let i = 0; i < maxRuns; i++) {
    await runAlarmNow(stub);
    if ((await stub.events({ state: "pending", limit: 1 })).length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`${source}/${account} still has pending events after ${maxRuns} alarm runs`);
}
