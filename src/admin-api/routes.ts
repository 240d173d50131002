/**
 * Every route of the operator API with the schemas of its query, body and answers: the source
 * of the OpenAPI document (./openapi.ts, `npm run schema`). test/openapi.test.ts sends a request
 * to each path listed here and checks the router answers it.
 */
import { ErrorBody } from "./common";
import { DESTINATION_ROUTES } from "./destination-routes";
import * as events from "./events";
import * as jobs from "./jobs";
import * as ops from "./operations";
import { ACCOUNT, type ApiRoute, notFound, ok } from "./route-kit";

export type { ApiResponse, ApiRoute, Method } from "./route-kit";

export const ROUTES: readonly ApiRoute[] = [
  {
    method: "get",
    path: "/admin/health",
    tag: "operations",
    summary: "The configured sources, or every configuration error",
    responses: { 200: ok(ops.Health), 500: { description: "The configuration is invalid.", schema: ops.Health } },
  },
  {
    method: "get",
    path: "/admin/counters",
    tag: "operations",
    summary: "Every source's counters",
    responses: { 200: ok(ops.AllCounters) },
  },
  {
    method: "get",
    path: "/admin/sources/{source}/counters",
    tag: "operations",
    summary: "One source's counters",
    responses: { 200: ok(ops.SourceCounters), 404: notFound },
  },
  {
    method: "get",
    path: "/admin/overview",
    tag: "operations",
    summary: "Counts per 5-minute bucket and delivery latency, per source",
    query: ops.OverviewQuery,
    responses: {
      200: ok(ops.Overview),
      400: { description: "`since` unreadable, too far back or in the future.", schema: ErrorBody },
      404: { description: "Unknown source.", schema: ErrorBody },
    },
  },
  {
    method: "get",
    path: "/admin/rejections",
    tag: "operations",
    summary: "Recent rejected requests (4xx) with their cause, newest first",
    query: ops.RejectionsQuery,
    responses: { 200: ok(ops.Rejections) },
  },
  {
    method: "get",
    path: `${ACCOUNT}/events`,
    tag: "events",
    summary: "An account's events, oldest first",
    query: events.AccountEventsQuery,
    responses: { 200: ok(events.AccountEvents), 400: { description: "`since` unreadable.", schema: ErrorBody }, 404: notFound },
  },
  {
    method: "get",
    path: `${ACCOUNT}/events/{id}`,
    tag: "events",
    summary: "One event with every delivery attempt",
    responses: { 200: ok(events.EventDetail), 404: notFound },
  },
  {
    method: "post",
    path: `${ACCOUNT}/events/{id}/redeliver`,
    tag: "events",
    summary: "Put one event back in its account's outbox, due now",
    responses: {
      202: ok(events.Redelivered, "Queued."),
      404: notFound,
      409: { description: "`not_redeliverable`: its body is gone (retention or erasure).", schema: ErrorBody },
    },
  },
  {
    method: "post",
    path: `${ACCOUNT}/events/{id}/erase`,
    tag: "events",
    summary: "Erase the event's payload, keeping its identity for dedupe",
    responses: {
      200: ok(events.Erased, "Erased (or erased before: the first erasure's time)."),
      404: notFound,
      409: { description: "`not_erasable`: the event is pending.", schema: ErrorBody },
    },
  },
  {
    method: "post",
    path: `${ACCOUNT}/replay`,
    tag: "events",
    summary: "Send again every delivered event of the account received since a time",
    query: events.ReplayQuery,
    responses: {
      202: ok(events.Replayed, "Queued."),
      400: { description: "`since` missing or unreadable.", schema: ErrorBody },
      404: notFound,
    },
  },
  {
    method: "get",
    path: "/admin/events",
    tag: "index",
    summary: "Events across accounts from the operators' index, newest first",
    query: events.IndexEventsQuery,
    responses: { 200: ok(events.IndexEvents), 400: { description: "A filter value is unreadable.", schema: ErrorBody } },
  },
  {
    method: "get",
    path: "/admin/events/count",
    tag: "index",
    summary: "How many indexed events match a filter (the bulk preview)",
    query: events.IndexFilter,
    responses: { 200: ok(events.IndexCount), 400: { description: "A filter value is unreadable.", schema: ErrorBody } },
  },
  {
    method: "get",
    path: "/admin/accounts",
    tag: "index",
    summary: "Backlog and origin health per account",
    query: events.AccountsQuery,
    responses: { 200: ok(ops.Accounts) },
  },
  {
    method: "get",
    path: "/admin/index",
    tag: "index",
    summary: "The operators' index: mode, retention and lag",
    responses: { 200: ok(ops.IndexState) },
  },
  {
    method: "get",
    path: "/admin/dead-letters",
    tag: "index",
    summary: "Dead letters across accounts",
    query: events.HeldQuery,
    responses: { 200: ok(events.HeldEntries) },
  },
  {
    method: "get",
    path: "/admin/quarantine",
    tag: "quarantine",
    summary: "Quarantined callbacks across sources",
    query: events.HeldQuery,
    responses: { 200: ok(events.HeldEntries) },
  },
  {
    method: "get",
    path: "/admin/sources/{source}/quarantine/{id}",
    tag: "quarantine",
    summary: "One quarantined callback with its raw bytes",
    responses: { 200: ok(events.QuarantineDetail), 404: notFound },
  },
  {
    method: "post",
    path: "/admin/sources/{source}/quarantine/{id}/erase",
    tag: "quarantine",
    summary: "Erase a quarantined callback's bytes and signed fields, keeping its identity",
    responses: { 200: ok(events.Erased, "Erased (or erased before: the first erasure's time)."), 404: notFound },
  },
  {
    method: "post",
    path: "/admin/sources/{source}/quarantine/reprocess",
    tag: "quarantine",
    summary: "Run the oldest quarantined callbacks through the current adapters",
    query: events.ReprocessQuery,
    responses: { 200: ok(events.Reprocessed), 404: notFound },
  },
  {
    method: "post",
    path: "/admin/jobs",
    tag: "jobs",
    summary: "Start a bulk job (redeliver every event a filter selects)",
    body: jobs.CreateJobBody,
    responses: {
      202: ok(jobs.JobAnswer, "Started."),
      400: { description: "The body does not validate.", schema: ErrorBody },
      409: { description: "The count no longer matches `expect`.", schema: jobs.CountChanged },
      413: { description: "The body is over 16 KiB.", schema: ErrorBody },
    },
  },
  { method: "get", path: "/admin/jobs", tag: "jobs", summary: "Recent jobs, newest first", responses: { 200: ok(jobs.JobList) } },
  {
    method: "get",
    path: "/admin/jobs/{id}",
    tag: "jobs",
    summary: "One job's progress",
    responses: { 200: ok(jobs.JobAnswer), 404: { description: "Unknown job.", schema: ErrorBody } },
  },
  {
    method: "post",
    path: "/admin/jobs/{id}/cancel",
    tag: "jobs",
    summary: "Cancel a job: it stops before its next event",
    responses: { 200: ok(jobs.JobAnswer), 404: { description: "Unknown job.", schema: ErrorBody } },
  },
  ...DESTINATION_ROUTES,
  {
    method: "post",
    path: "/admin/session",
    tag: "session",
    summary: "Sign in to the console: a session cookie for a token",
    body: ops.SessionBody,
    responses: {
      204: { description: "Signed in: `Set-Cookie: __Host-wg_session=…`." },
      401: { description: "Wrong token.", schema: ErrorBody },
    },
  },
  {
    method: "get",
    path: "/admin/session",
    tag: "session",
    summary: "The current session",
    responses: { 200: ok(ops.Session), 401: { description: "No valid session.", schema: ErrorBody } },
  },
  {
    method: "delete",
    path: "/admin/session",
    tag: "session",
    summary: "Sign out",
    responses: { 204: { description: "Signed out; the cookie is cleared." } },
  },
  {
    method: "get",
    path: "/admin/openapi.json",
    tag: "operations",
    summary: "This document",
    responses: { 200: { description: "The OpenAPI 3.1 document of the operator API." } },
  },
];
