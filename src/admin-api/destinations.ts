/**
 * Schemas of the origin protection routes (docs/operations.md "Origin protection", "Pause and
 * resume"): each destination with its breaker, ceiling and paused sources, one destination with
 * its history, and the pause and resume of a source or an account. None takes a query or a body;
 * every answer is built by src/admin/destinations.ts and src/admin/pause.ts in these shapes.
 */
import * as v from "valibot";
import { AccountKey, SourceName, Timestamp } from "./common";

const count = v.pipe(v.number(), v.integer(), v.minValue(0));
const BREAKER_STATES = ["closed", "open", "half_open"] as const;
const BreakerState = v.pipe(
  v.picklist(BREAKER_STATES),
  v.description("closed: delivering; open: nothing is sent, a probe goes out at nextProbeAt; half_open: one probe is out."),
);

const PausedSource = v.object({
  source: SourceName,
  at: Timestamp,
  by: v.pipe(v.string(), v.description("Who paused it (the actor of the audit log).")),
});

const Transition = v.pipe(
  v.object({
    at: Timestamp,
    from: BreakerState,
    to: BreakerState,
    reason: v.pipe(v.string(), v.description('Why: "failure_rate 83% of 12 in 300 s", "probe failed: HTTP 503", "probe succeeded", …')),
  }),
  v.title("BreakerTransition"),
);

const destinationEntries = {
  id: v.pipe(v.string(), v.description("16 hex digits, from the URL (and client certificate): stable across deploys.")),
  url: v.pipe(
    v.string(),
    v.description("The origin URL as origin and path only: never its user information or query, which can hold credentials."),
  ),
  sources: v.pipe(v.array(SourceName), v.description("The sources delivering here, in configuration order.")),
  state: BreakerState,
  windowSeconds: v.pipe(count, v.description("The breaker's window (BREAKER_WINDOW_SECONDS): `attempts` and `failures` are over it.")),
  attempts: v.pipe(count, v.description("Attempts counted by the breaker in the window (408 and 429 are not counted).")),
  failures: v.pipe(count, v.description("Of which failed: 5xx, 3xx, timeouts and network errors.")),
  consecutiveFailures: count,
  openedAt: v.pipe(v.nullable(Timestamp), v.description("When the breaker last opened, while it is not closed.")),
  nextProbeAt: v.pipe(v.nullable(Timestamp), v.description("When the next probe may go out, while open.")),
  probeIntervalMs: v.pipe(v.nullable(count), v.description("The wait between probes now (doubles after each failed probe).")),
  lastError: v.pipe(v.nullable(v.string()), v.description("The last failure's error text (never a body).")),
  lastStatus: v.pipe(v.nullable(v.number()), v.description("The last failure's HTTP status, if it had one.")),
  waiting: v.pipe(count, v.description("Accounts waiting for this destination (open breaker or a paused source).")),
  pausedSources: v.array(PausedSource),
  ratePerSecond: v.pipe(v.number(), v.description("The delivery ceiling now, attempts per second (ramping up after the breaker closes).")),
  maxPerSecond: v.pipe(v.number(), v.description("The ceiling as configured (DESTINATION_MAX_PER_SECOND).")),
};

export const Destination = v.pipe(v.object(destinationEntries), v.title("Destination"));
export const DestinationList = v.object({ destinations: v.array(Destination) });
export const DestinationDetail = v.pipe(
  v.object({
    ...destinationEntries,
    history: v.pipe(v.array(Transition), v.description("The breaker's transitions, newest first (the last 100).")),
  }),
  v.title("DestinationDetail"),
);

const changed = v.pipe(v.boolean(), v.description("false when it was already in that state (the call changed nothing)."));

export const SourcePause = v.object({ source: SourceName, paused: v.boolean(), changed });
export const AccountPause = v.object({ source: SourceName, account: AccountKey, paused: v.boolean(), changed });

export const AccountDelivery = v.object({
  source: SourceName,
  account: AccountKey,
  paused: v.pipe(v.boolean(), v.description("The account itself is paused (its source's pause is in GET /admin/destinations).")),
  pausedAt: v.nullable(Timestamp),
  pausedBy: v.nullable(v.string()),
  held: v.pipe(
    v.nullable(v.picklist(["open", "paused", "ceiling"])),
    v.description("Why its outbox is held now: the breaker is open, it or its source is paused, the ceiling; null: not held."),
  ),
  heldSince: v.nullable(Timestamp),
});
