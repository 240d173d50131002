/**
 * Schemas of the bulk job routes (src/jobs/): POST /admin/jobs validates its body with
 * `CreateJobBody`, and every answer is built as a `Job`.
 */
import * as v from "valibot";
import { Timestamp } from "./common";
import { IndexFilter } from "./events";

const count = v.pipe(v.number(), v.integer(), v.minValue(0));

export const JOB_KINDS = ["redeliver"] as const;
export const JOB_STATES = ["running", "done", "cancelled", "failed"] as const;
export type JobState = (typeof JOB_STATES)[number];

export const CreateJobBody = v.pipe(
  v.strictObject({
    kind: v.pipe(v.picklist(JOB_KINDS), v.description("redeliver: put every selected event back in its account's outbox.")),
    filter: IndexFilter,
    expect: v.pipe(count, v.description("The count the operator confirmed (GET /admin/events/count with the same filter).")),
  }),
  v.title("CreateJob"),
);
export type CreateJobBody = v.InferOutput<typeof CreateJobBody>;

export const Job = v.pipe(
  v.object({
    id: v.pipe(v.string(), v.uuid()),
    kind: v.picklist(JOB_KINDS),
    filter: IndexFilter,
    state: v.pipe(
      v.picklist(JOB_STATES),
      v.description("running until every selected event is handled; cancelled by an operator; failed if it cannot go on."),
    ),
    total: v.pipe(count, v.description("Events selected: those matching the filter received before the job was created.")),
    done: v.pipe(count, v.description("Events put back in their outbox.")),
    skipped: v.pipe(
      count,
      v.description("Events left as they were: pending already, touched since the job was created, erased or past body retention."),
    ),
    failed: v.pipe(count, v.description("Events whose ledger call failed (logged); the job went on.")),
    createdBy: v.pipe(v.string(), v.description("The operator who started it.")),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    error: v.optional(v.pipe(v.string(), v.description("Why a failed job could not go on."))),
  }),
  v.title("Job"),
);
export type Job = v.InferOutput<typeof Job>;

export const JobAnswer = v.object({ job: Job });
export const JobList = v.object({ jobs: v.pipe(v.array(Job), v.description("The most recent jobs, newest first.")) });
export const CountChanged = v.pipe(
  v.object({ error: v.literal("count_changed"), count: v.pipe(count, v.description("The count now: show it and ask again.")) }),
  v.title("CountChanged"),
);
