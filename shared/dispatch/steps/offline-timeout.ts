/**
 * An isolation that ended `TimeOut`: the device stayed offline through MDE's three days, so it was
 * never isolated (docs/mde-api.md §7.5). What happens next is the rule's `onTimeout`
 * (shared/policy/document.ts): left out, the request ends `timed-out`; `escalate`, it ends `escalated`
 * for a person; `retry-when-seen`, the isolation is posted again, which MDE holds `Pending` until the
 * device is next seen, while two limits hold: for an alert from Sentinel, its incident is still New or
 * Active (incident-open.ts; Closed, nothing is posted; unreadable, a person decides), and at most
 * MAX_TIMEOUT_RETRIES times (a device gone longer than that is a person's to find). The register says
 * `timed-out` (not in force) whichever.
 */
import { randomUUID } from 'node:crypto';
import { isManualAlert } from '../../alerts/model';
import type { MachineAction } from '../../mde/types';
import type { OnTimeout } from '../../policy/document';
import { type ActionRequest, dedupeKey, priorityOf, type TrackRequest } from '../request';
import { type IncidentAccess, incidentGate } from './incident-open';

export const MAX_TIMEOUT_RETRIES = 2;
export const OFFLINE_TIMEOUT_RULE = 'offline-timeout';

export type AfterTimeOut =
  /** The request ends as MDE's status says; `reason`, when given, says why nothing follows. */
  | { kind: 'report'; reason?: string }
  | { kind: 'escalate'; reason: string }
  /** `again` is posted; this request still ends `timed-out`, with `reason`. */
  | { kind: 'retry'; again: ActionRequest; reason: string };

export async function afterTimeOut(
  request: TrackRequest,
  action: MachineAction,
  onTimeout: OnTimeout | null,
  now: number,
  incidents: IncidentAccess,
): Promise<AfterTimeOut> {
  if (request.tracking.action !== 'isolate' || action.status !== 'TimeOut' || onTimeout === null)
    return { kind: 'report' };
  const offline = `the device stayed offline through MDE's 3-day retry: isolation action ${action.id} ended TimeOut`;
  if (onTimeout === 'escalate')
    return {
      kind: 'escalate',
      reason: `${offline}; rule ${request.rule} asks a person to decide (onTimeout: escalate)`,
    };
  const retries = request.timeoutRetries ?? 0;
  if (retries >= MAX_TIMEOUT_RETRIES)
    return {
      kind: 'escalate',
      reason: `${offline}, after ${retries} retries for when it is seen (rule ${request.rule}); a person decides`,
    };
  const incident = await incidentGate(incidents, request);
  if (incident.kind === 'closed')
    return { kind: 'report', reason: `${offline}; not posted again: ${incident.reason}` };
  if (incident.kind === 'unreadable')
    return {
      kind: 'escalate',
      reason: `${offline}; rule ${request.rule} posts again only while its Sentinel incident is open, and ${incident.reason}`,
    };
  const {
    tracking: _tracking,
    storeOutage: _outage,
    claimKey: _claim,
    rateLimited: _limited,
    ...fields
  } = request;
  const again: ActionRequest = {
    ...fields,
    action: 'isolate',
    // One id per retry of this request, so a poll that ends twice queues it once (duplicate detection,
    // and the worker finds its own by id).
    requestId: retryId(request.requestId, retries + 1),
    priority: priorityOf(request.alert.severity, isManualAlert(request.alert)),
    attempt: 0,
    deferrals: 0,
    dedupeKey: dedupeKey('isolate', request.device, request.mode),
    // Judged against actions from now on: the timed-out one answers nothing.
    receivedAt: new Date(now).toISOString(),
    timeoutRetries: retries + 1,
  };
  return {
    kind: 'retry',
    again,
    reason: `${offline}; posted again for when the device is next seen (retry ${retries + 1} of ${MAX_TIMEOUT_RETRIES}, request ${again.requestId})`,
  };
}

/** The request id of a retry: the first request's id (a UUID) and the retry's number. */
function retryId(requestId: string, retry: number): string {
  const base = requestId.replace(/-t\d+$/, '').slice(0, 36) || randomUUID();
  return `${base}-t${retry}`;
}
