/**
 * `onLift: renew` (docs/decisions/0016-isolation-expiry-and-time-boxes.md): at MDE's lift a new
 * isolation is posted, through the normal isolate path (the policy decides the device again, the
 * breaker counts it, MDE's list is checked), with an MDE comment that says it is a renewal. It is
 * scheduled on the queue when the isolation takes effect, for the moment of its lift, when the device
 * is no longer isolated: nothing relies on what MDE answers to an isolate on an isolated device
 * (docs/mde-api.md §7.6). It is posted only while the register still follows the isolation it renews
 * (`isolated`, or `lifted` by let-lift's bookkeeping), and only for a person's request or an alert
 * that did not come from Sentinel: whether a Sentinel incident is still open, this app cannot read, so
 * it never renews on one's behalf (escalated: a person decides).
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
export function renewalRefusal(
  request: ActionRequest,
  record: IsolationRecord | null,
): { outcome: 'skipped' | 'escalated'; reason: string } | null {
  const renewal = request.renewal;
  if (!renewal) return null;
  const follows =
    record !== null &&
    (record.state === 'isolated' || record.state === 'lifted') &&
    record.actions.some((a) => a.actionId === renewal.isolationActionId);
  if (!follows)
    return {
      outcome: 'skipped',
      reason: `not renewing isolation ${renewal.isolationActionId} at its lift: the register no longer follows it (${record ? record.state : 'no record'}; released or isolated again since)`,
    };
  const { source } = request.alert;
  if (!isManualRequest(request) && (source === 'sentinel-incident' || source === 'sentinel-alert'))
    return {
      outcome: 'escalated',
      reason: `not renewing isolation ${renewal.isolationActionId} at its lift: it renews only while the Sentinel incident is open, which this app cannot read; isolate it again by hand if the incident is still open`,
    };
  return null;
}

/** The MDE comment of a renewal says so. */
export function renewalComment(comment: string, renewal: NonNullable<ActionRequest['renewal']>): string {
  return truncate(
    `${comment} [renewal at the platform lift of isolation ${renewal.isolationActionId}]`,
    COMMENT_MAX_LENGTH,
  );
}
