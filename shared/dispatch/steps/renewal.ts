/**
 * `onLift: renew` (docs/decisions/0016-isolation-expiry-and-time-boxes.md): at MDE's lift a new
 * isolation is posted, through the normal isolate path (the policy decides the device again, the
 * breaker counts it, MDE's list is checked), with an MDE comment that says it is a renewal. It is
 * scheduled on the queue when the isolation takes effect, for the moment of its lift, when the device
 * is no longer isolated: nothing relies on what MDE answers to an isolate on an isolated device
 * (docs/mde-api.md §7.6). It is posted only while the register still follows the isolation it renews
 * (`isolated`, or `lifted` by let-lift's bookkeeping); for an alert from Sentinel, only while its
 * incident is New or Active (incident-open.ts): Closed, the isolation is let lift; unreadable, a
 * person decides (escalated). docs/decisions/0030-reading-the-sentinel-incident-status.md
 */
import { createHash } from 'node:crypto';
import { truncate } from '../../kernel/text';
import type { MachineAction } from '../../mde/types';
import { COMMENT_MAX_LENGTH } from '../../policy/document';
import type { IsolationRecord } from '../../state/store';
import {
  type ActionRequest,
  dedupeKey,
  type IsolationRequest,
  isManualRequest,
  priorityOf,
} from '../request';
import type { RequestQueue } from '../transport/queue';
import { messageFor } from '../transport/queue';
import { platformLiftAt } from './expiry';
import { type IncidentAccess, incidentGate } from './incident-open';

/** One renewal per isolation, within the 40 characters a request id may have. */
export function renewalRequestId(isolationActionId: string): string {
  return `renewal-${createHash('sha256').update(isolationActionId).digest('hex').slice(0, 32)}`;
}

/** The isolate that renews `isolation` at its lift, as the request that isolated sends it. */
export function renewalOf(
  request: IsolationRequest,
  isolation: Pick<MachineAction, 'id' | 'machineId'>,
  now: number,
): ActionRequest {
  const device = { mdeDeviceId: isolation.machineId.toLowerCase() };
  const { alert, isolationType, requestedBy, rule, policyVersion, mode } = request;
  return {
    action: 'isolate',
    requestId: renewalRequestId(isolation.id),
    device,
    isolationType,
    priority: priorityOf(alert.severity, isManualRequest(request)),
    alert: { ...alert, devices: [device] },
    requestedBy,
    rule,
    policyVersion,
    mode,
    attempt: 0,
    deferrals: 0,
    dedupeKey: dedupeKey('isolate', device, mode),
    receivedAt: new Date(now).toISOString(),
    onLift: 'renew',
    renewal: { isolationActionId: isolation.id },
  };
}

/** Schedules the renewal of a `renew` isolation that took effect, for its lift; anything else: nothing. */
export async function scheduleRenewal(
  queue: RequestQueue,
  request: IsolationRequest,
  isolation: MachineAction,
  platformLiftMs: number,
  now: number,
): Promise<void> {
  const liftAt = platformLiftAt(isolation, platformLiftMs);
  if (request.onLift !== 'renew' || liftAt === null) return;
  await queue.schedule(messageFor(renewalOf(request, isolation, now)), new Date(liftAt));
}

/** Why a due renewal is not posted (and how it ends), or null when it may go on. */
export async function renewalRefusal(
  request: ActionRequest,
  record: IsolationRecord | null,
  incidents: IncidentAccess,
): Promise<{ outcome: 'skipped' | 'escalated'; reason: string } | null> {
  const renewal = request.renewal;
  if (!renewal) return null;
  const notRenewing = `not renewing isolation ${renewal.isolationActionId} at its lift`;
  const follows =
    record !== null &&
    (record.state === 'isolated' || record.state === 'lifted') &&
    record.actions.some((a) => a.actionId === renewal.isolationActionId);
  if (!follows)
    return {
      outcome: 'skipped',
      reason: `${notRenewing}: the register no longer follows it (${record ? record.state : 'no record'}; released or isolated again since)`,
    };
  if (isManualRequest(request)) return null;
  const incident = await incidentGate(incidents, request);
  switch (incident.kind) {
    case 'closed':
      return { outcome: 'skipped', reason: `${notRenewing}: ${incident.reason}; MDE lifts the isolation` };
    case 'unreadable':
      return {
        outcome: 'escalated',
        reason: `${notRenewing}: it renews only while its Sentinel incident is open, and ${incident.reason}; isolate it again by hand if the incident is still open`,
      };
    default:
      return null;
  }
}

/** The MDE comment of a renewal says so. */
export function renewalComment(comment: string, renewal: NonNullable<ActionRequest['renewal']>): string {
  return truncate(
    `${comment} [renewal at the platform lift of isolation ${renewal.isolationActionId}]`,
    COMMENT_MAX_LENGTH,
  );
}
