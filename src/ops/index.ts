/**
 * Operational events (`gateway.*` CloudEvents to OPS_WEBHOOK_URL, docs/ops-events.md): what the
 * rest of the gateway calls. `opsEvent(env, builder({...}))` stores one; the builders fix each
 * type's key and data; the checks raise the two conditions that start and end.
 */
export { checkBacklog } from "./backlog";
export { OPS_ACCOUNT, opsEvent, opsEventId, opsLedger } from "./emit";
export {
  backlogStale,
  breakerClosed,
  breakerOpened,
  deadLettered,
  OPS_EVENT_TYPES,
  type OpsEvent,
  type OpsEventInput,
  type OpsEventType,
  quarantined,
  rejectionsHigh,
} from "./events";
export { checkRejections } from "./rejections-high";
