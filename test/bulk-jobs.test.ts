/**
 * Bulk redeliver by filter (docs/operations.md "Bulk redeliver", docs/guarantees.md "Bulk
 * jobs"): POST /admin/jobs checks the confirmed count against the index and starts a BulkJob
 * Durable Object, which selects the matching events received before it started and asks each
 * one's account ledger to redeliver it, with a guard that makes a repeated call a "skipped".
 * Real account ledgers, the real D1 index (written by the ledgers' own index feed), the real
 * origin; the job's alarms run for real or one at a time with runDurableObjectAlarm.
 */
import { listDurableObjectIds, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Job } from "../src/admin-api/jobs";
import type { BulkJob, JobSpec } from "../src/jobs/BulkJob";
import type { JobRow } from "../src/jobs/store";
import { accountObjectName } from "../src/object-names";
import {
  admin,
  call,
  captureLogs,
  cybavoCallback,
  drain,
  newRows,
  originEvents,
  postCybavo,
  scriptOrigin,
  storedEvents,
  uniqueAccount,
} from "./support/gateway";
import { TEST_SECRETS } from "./support/test-config";

const SOURCE = "cybavo";

/** `n` dead letters of one account (the origin answers 410), in the index; their ids in `seq` order. */
async function deadLetters(wallet: number, n: number): Promise<string[]> {
  await scriptOrigin(String(wallet), Array(n).fill(410));
  const before = await storedEvents(SOURCE, String(wallet));
  for (let i = 0; i < n; i++) expect((await postCybavo(SOURCE, cybavoCallback({ wallet_id: wallet }))).status).toBe(200);
  await drain(SOURCE, String(wallet));
  const rows = newRows(before, await storedEvents(SOURCE, String(wallet)));
  expect(rows.map((r) => r.state)).toEqual(Array(n).fill("dead"));
  // The account's own index feed wrote them to D1 in its alarm runs.
  const query = new URLSearchParams({ source: SOURCE, account: String(wallet), status: "dead" });
  expect(await (await admin("GET", `/events/count?${query}`)).json()).toEqual({ count: n });
  return rows.map((r) => r.id);
}

const json = async <T>(response: Response) => [response.status, (await response.json()) as T] as const;

function postJob(body: unknown): Promise<Response> {
  return call(
    new Request("https://gateway.test/admin/jobs", {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_SECRETS.ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
}

const jobStub = (id: string) => env.JOBS.get(env.JOBS.idFromName(id));

/** Waits (bounded) until the job's own alarms have finished it. */
async function finished(id: string): Promise<Job> {
  for (let i = 0; i < 400; i++) {
    const [status, body] = await json<{ job: Job }>(await admin("GET", `/jobs/${id}`));
    expect(status).toBe(200);
    if (body.job.state !== "running") return body.job;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`job ${id} still running`);
}

/**
 * A job started on its object directly (as POST /admin/jobs does), stepped by the test: its next
 * run is an hour away, so only `step` runs it, `eventsPerRun` events per run.
 */
async function steppedJob(filter: { status: "dead"; from: number }, eventsPerRun: number) {
  const id = crypto.randomUUID();
  const stub = jobStub(id);
  await runInDurableObject(stub, (instance: BulkJob) => {
    instance.continueAfterMs = 3_600_000;
    instance.limits = { ...instance.limits, eventsPerRun };
  });
  const createdAt = Date.now();
  const spec: JobSpec = {
    id,
    kind: "redeliver",
    filter: { source: SOURCE, status: filter.status, from: String(filter.from) },
    selection: { source: SOURCE, status: filter.status, from: filter.from, to: createdAt },
    expected: 0,
    createdBy: "test",
    createdAt,
  };
  const started = await stub.start(spec);
  expect(started.state).toBe("running");
  return {
    id,
    stub,
    step: () => runDurableObjectAlarm(stub),
    setPerRun: (n: number) =>
      runInDurableObject(stub, (instance: BulkJob) => {
        instance.limits = { ...instance.limits, eventsPerRun: n };
      }),
    row: () => runInDurableObject(stub, (_i, state) => state.storage.sql.exec<JobRow>("SELECT * FROM job").one()),
    /** Writes back the cursor and counts of `row`: the writes of a run that died after its ledger calls. */
    restore: (row: JobRow) =>
      runInDurableObject(stub, (_i, state) => {
        state.storage.sql.exec(
          "UPDATE job SET state = ?, after_source = ?, after_account = ?, after_seq = ?, done = ?, skipped = ?, failed = ?",
          row.state,
          row.after_source,
          row.after_account,
          row.after_seq,
          row.done,
          row.skipped,
          row.failed,
        );
      }),
  };
}

const delivered = async (wallet: number) => (await originEvents(String(wallet))).map((e) => e.id);

describe("bulk redeliver", () => {
  it("10 dead letters across 2 accounts: previewed, confirmed, each delivered exactly once, in order per account", async () => {
    const from = Date.now();
    const [a, b] = [uniqueAccount(), uniqueAccount()];
    const idsA = await deadLetters(a, 6);
    const idsB = await deadLetters(b, 4);
    const filter = { source: SOURCE, status: "dead", from: String(from) };

    const [, preview] = await json<{ count: number }>(await admin("GET", `/events/count?${new URLSearchParams(filter)}`));
    expect(preview.count).toBe(10);
    const [status, created] = await json<{ job: Job }>(await postJob({ kind: "redeliver", filter, expect: 10 }));
    expect(status).toBe(202);
    expect(created.job).toMatchObject({ kind: "redeliver", filter, state: "running", total: 10, createdBy: "token" });

    const job = await finished(created.job.id);
    expect(job).toMatchObject({ state: "done", total: 10, done: 10, skipped: 0, failed: 0 });
    await drain(SOURCE, String(a));
    await drain(SOURCE, String(b));
    expect(await delivered(a)).toEqual(idsA);
    expect(await delivered(b)).toEqual(idsB);
    // The accounts' index feed has written them delivered: the dead-letter selection is empty.
    expect(await json(await admin("GET", `/events/count?${new URLSearchParams(filter)}`))).toEqual([200, { count: 0 }]);

    const [, list] = await json<{ jobs: Job[] }>(await admin("GET", "/jobs"));
    expect(list.jobs[0]).toEqual(job);
  });

  it("a run that died between its ledger calls and its cursor write is run again: nothing is delivered twice", async () => {
    const from = Date.now();
    const [a, b] = [uniqueAccount(), uniqueAccount()];
    const idsA = await deadLetters(a, 3);
    const idsB = await deadLetters(b, 3);
    const job = await steppedJob({ status: "dead", from }, 0);
    await job.step(); // selects, handles none
    const before = await job.row();
    expect([before.phase, before.total, before.done]).toEqual(["redeliver", 6, 0]);

    await job.setPerRun(6);
    await job.step(); // puts all 6 back...
    expect((await job.row()).done).toBe(6);
    await job.restore(before); // ...but its cursor and counts were never written
    await drain(SOURCE, String(a)); // a's are delivered meanwhile, b's still pending
    await job.step(); // the same 6 again: every call skipped
    await job.step(); // finds no more: done
    expect(await job.stub.job()).toMatchObject({ state: "done", total: 6, done: 0, skipped: 6, failed: 0 });

    await drain(SOURCE, String(a));
    await drain(SOURCE, String(b));
    expect(await delivered(a)).toEqual(idsA);
    expect(await delivered(b)).toEqual(idsB);
  });

  it("cancel stops the job before its next event", async () => {
    const from = Date.now();
    const a = uniqueAccount();
    const ids = await deadLetters(a, 5);
    const job = await steppedJob({ status: "dead", from }, 2);
    await job.step();
    const [status, cancelled] = await json<{ job: Job }>(await admin("POST", `/jobs/${job.id}/cancel`));
    expect(status).toBe(200);
    expect(cancelled.job).toMatchObject({ state: "cancelled", total: 5, done: 2 });
    await job.step();
    await drain(SOURCE, String(a));
    expect(await delivered(a)).toEqual(ids.slice(0, 2));
    expect(await job.stub.job()).toMatchObject({ state: "cancelled", done: 2, skipped: 0 });
    // Cancelling again, or an unknown job.
    expect((await json<{ job: Job }>(await admin("POST", `/jobs/${job.id}/cancel`)))[1].job.state).toBe("cancelled");
    expect((await admin("POST", `/jobs/${crypto.randomUUID()}/cancel`)).status).toBe(404);
    expect((await admin("GET", `/jobs/${crypto.randomUUID()}`)).status).toBe(404);
    expect((await admin("GET", "/jobs/not-a-job")).status).toBe(404);
  });

  it("an id the registry does not hold is a 404 without creating its object, for GET and cancel, every time", async () => {
    const id = crypto.randomUUID();
    const objectId = env.JOBS.idFromName(id).toString();
    const created = async () => (await listDurableObjectIds(env.JOBS)).some((o) => o.toString() === objectId);
    expect(await json(await admin("GET", `/jobs/${id}`))).toEqual([404, { error: "not_found" }]);
    expect(await json(await admin("POST", `/jobs/${id}/cancel`))).toEqual([404, { error: "not_found" }]);
    expect(await json(await admin("GET", `/jobs/${id}`))).toEqual([404, { error: "not_found" }]);
    expect(await created()).toBe(false);
    expect(await env.INDEX_DB.prepare("SELECT count(*) AS n FROM jobs WHERE id = ?").bind(id).first()).toEqual({ n: 0 });
  });

  it("a body over 16 KiB is a 413, read no further, and nothing starts", async () => {
    const jobsBefore = (await json<{ jobs: Job[] }>(await admin("GET", "/jobs")))[1].jobs;
    const filter = { source: SOURCE, status: "dead", account: "x".repeat(16 * 1024) };
    expect(await json(await postJob({ kind: "redeliver", filter, expect: 0 }))).toEqual([413, { error: "payload_too_large" }]);
    // Streamed, with no Content-Length: cut off at the cap all the same.
    const chunk = new TextEncoder().encode(" ".repeat(4096));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += 1;
        if (sent > 64) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const streamed = await call(
      new Request("https://gateway.test/admin/jobs", {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_SECRETS.ADMIN_TOKEN}`, "content-type": "application/json" },
        body,
        duplex: "half",
      } as RequestInit),
    );
    expect(await json(streamed)).toEqual([413, { error: "payload_too_large" }]);
    expect(sent).toBeLessThan(64);
    expect((await json<{ jobs: Job[] }>(await admin("GET", "/jobs")))[1].jobs).toEqual(jobsBefore);
  });

  it("409 with the new count when it changed since the preview; 400 for a body that does not validate; nothing starts", async () => {
    const from = Date.now();
    await deadLetters(uniqueAccount(), 2);
    const filter = { source: SOURCE, status: "dead", from: String(from) };
    const jobsBefore = (await json<{ jobs: Job[] }>(await admin("GET", "/jobs")))[1].jobs;
    expect(await json(await postJob({ kind: "redeliver", filter, expect: 3 }))).toEqual([409, { error: "count_changed", count: 2 }]);
    // A blank field means any (a form's empty field sends one).
    const blanks = { ...filter, account: "", to: "" };
    expect(await json(await postJob({ kind: "redeliver", filter: blanks, expect: 3 }))).toEqual([
      409,
      { error: "count_changed", count: 2 },
    ]);
    expect((await postJob({ kind: "redeliver", filter: { ...filter, stauts: "dead" }, expect: 2 })).status).toBe(400);
    expect((await postJob({ kind: "erase", filter, expect: 2 })).status).toBe(400);
    expect((await postJob({ kind: "redeliver", filter, expect: -1 })).status).toBe(400);
    expect((await postJob({ kind: "redeliver", filter: { ...filter, from: "yesterday" }, expect: 2 })).status).toBe(400);
    expect((await json<{ jobs: Job[] }>(await admin("GET", "/jobs")))[1].jobs).toEqual(jobsBefore);
  });

  it("a ledger that fails counts its events as failed, logged, and the job goes on with the others", async () => {
    const from = Date.now();
    const [a, b] = [uniqueAccount(), uniqueAccount()];
    await deadLetters(a, 2);
    const idsB = await deadLetters(b, 2);
    const job = await steppedJob({ status: "dead", from }, 10);
    const broken = env.LEDGER.idFromName(accountObjectName(SOURCE, String(a))).toString();
    await runInDurableObject(job.stub, (instance: BulkJob) => {
      const holder = instance as unknown as { env: Env };
      const real = holder.env.LEDGER;
      const failing = { redeliver: () => Promise.reject(new Error("ledger unreachable (test)")) };
      holder.env = {
        ...holder.env,
        LEDGER: {
          idFromName: (name: string) => real.idFromName(name),
          get: (id: DurableObjectId) => (id.toString() === broken ? failing : real.get(id)),
        },
      } as unknown as Env;
    });
    const { lines } = await captureLogs(async () => {
      await job.step();
      await job.step();
    });
    expect(await job.stub.job()).toMatchObject({ state: "done", total: 4, done: 2, skipped: 0, failed: 2 });
    expect(lines.filter((l) => l.msg === "bulk_job" && l.step === "redeliver").map((l) => [l.account, l.message])).toEqual([
      [String(a), "ledger unreachable (test)"],
      [String(a), "ledger unreachable (test)"],
    ]);
    await drain(SOURCE, String(b));
    expect(await delivered(b)).toEqual(idsB);
    expect(await delivered(a)).toEqual([]);
  });

  it("any interleaving of job runs, runs that die before their cursor write, and deliveries: each event requeued once (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom("step", "crash", "drainA", "drainB"), { maxLength: 10 }), async (commands) => {
        const from = Date.now();
        const [a, b] = [uniqueAccount(), uniqueAccount()];
        const idsA = await deadLetters(a, 2);
        const idsB = await deadLetters(b, 2);
        const job = await steppedJob({ status: "dead", from }, 1);
        for (const command of commands) {
          if (command === "drainA") await drain(SOURCE, String(a));
          else if (command === "drainB") await drain(SOURCE, String(b));
          else if ((await job.row()).state === "running") {
            const before = await job.row();
            await job.step();
            // A crash between a ledger call and the cursor write: only a run that made a call.
            const after = await job.row();
            if (command === "crash" && after.state === "running" && after.phase === "redeliver" && before.phase === "redeliver")
              await job.restore(before);
          }
        }
        for (let i = 0; i < 20 && (await job.row()).state === "running"; i++) await job.step();
        const end = await job.row();
        expect([end.state, end.total, end.done + end.skipped, end.failed]).toEqual(["done", 4, 4, 0]);
        await drain(SOURCE, String(a));
        await drain(SOURCE, String(b));
        expect(await delivered(a)).toEqual(idsA);
        expect(await delivered(b)).toEqual(idsB);
      }),
      { numRuns: 12 },
    );
  }, 120_000);
});
