/**
 * Time-boxed isolation (docs/decisions/0016-isolation-expiry-and-time-boxes.md): an isolation whose
 * rule or requester asked for `isolateFor` is released when its box ends, through the normal release
 * path, and only while it is still this app's own and the newest action on the machine. The release
 * is a request scheduled on the queue when the isolation takes effect (a Service Bus scheduled
 * message; the in-process queue's schedule inline). When it comes due it asks the register for the
 * end as it stands now (an extension pushes it; the request then waits again), and MDE, through
 * release provenance, whether the isolation is still the one to end. The reconciler is the safety net
 * for a lost message: it finds what `isolationsPastTheirEnd` (register.ts) lists.
 */
import { createHash } from 'node:crypto';
import type { MachineAction } from '../../mde/types';
import type { IsolationRecord } from '../../state/store';
import {
  type ActionRequest,
  dedupeKey,
  type IsolationRequest,
  isManualRequest,
  priorityOf,
} from '../request';
import { messageFor, type RequestQueue } from '../transport/queue';
import { tookEffectAt } from './expiry';
import type { ReleaseProvenance } from './provenance';

/** The rule and requester a time-box release names: no policy rule and no person decided it. */
export const TIME_BOX_RULE = 'time-box';

/**
 * One release per isolation, so a second schedule of it is the same request: `time-box-` and a digest
 * of the action id, within the 40 characters a request id may have.
 */
export function timeBoxRequestId(isolationActionId: string): string {
  return `time-box-${createHash('sha256').update(isolationActionId).digest('hex').slice(0, 31)}`;
}

/** The release that ends `isolation`'s time box, as the request that isolated sends it. */
export function timeBoxRelease(
  request: IsolationRequest,
  isolation: Pick<MachineAction, 'id' | 'machineId'>,
  now: number,
): ActionRequest {
  const {
    tracking: _tracking,
    storeOutage: _outage,
    claimKey: _claim,
    isolateForMs: _box,
    rateLimited: _limited,
    ...fields
  } = request as IsolationRequest & Partial<{ tracking: unknown }>;
  const device = { mdeDeviceId: isolation.machineId.toLowerCase() };
  return {
    ...fields,
    action: 'release',
    requestId: timeBoxRequestId(isolation.id),
    device,
    alert: { ...fields.alert, devices: [device] },
    priority: priorityOf(fields.alert.severity, isManualRequest(fields)),
    requestedBy: { kind: 'rule', name: TIME_BOX_RULE },
    rule: TIME_BOX_RULE,
    attempt: 0,
    deferrals: 0,
    dedupeKey: dedupeKey('release', device, fields.mode),
    receivedAt: new Date(now).toISOString(),
    timeBox: { isolationActionId: isolation.id },
  };
}

/**
 * When `isolation` took effect for a request with a time box shorter than the platform lift: its
 * release is scheduled for the box's end. Anything else schedules nothing (the lift ends it).
 */
export async function scheduleTimeBoxRelease(
  queue: RequestQueue,
  request: IsolationRequest,
  isolation: MachineAction,
  platformLiftMs: number,
  now: number,
): Promise<void> {
  const from = tookEffectAt(isolation);
  const box = request.isolateForMs;
  if (from === null || box === undefined || box >= platformLiftMs) return;
  await queue.schedule(messageFor(timeBoxRelease(request, isolation, now)), new Date(from + box));
}

/**
 * When a time-box release may go on: its isolation's end as the register has it now (extended, it
 * lies ahead: the release waits for it). Null when it is due: the register has no later end for
 * that isolation, and MDE decides the rest.
 */
export function timeBoxWaitsUntil(
  record: IsolationRecord | null,
  timeBox: NonNullable<ActionRequest['timeBox']>,
  now: number,
): number | null {
  if (!record?.expiresAt || !record.actions.some((a) => a.actionId === timeBox.isolationActionId))
    return null;
  const ends = Date.parse(record.expiresAt);
  return ends > now ? ends : null;
}

/**
 * Why a due time-box release is not posted, or null when the isolation in force is still the one
 * whose box ended, and this app's. Whatever happened since (released, re-isolated by someone, lifted)
 * is left alone: the box was about that isolation only.
 */
export function timeBoxOutlived(
  timeBox: NonNullable<ActionRequest['timeBox']>,
  provenance: ReleaseProvenance,
): string | null {
  const isolation = `the time box of isolation ${timeBox.isolationActionId} ended`;
  switch (provenance.kind) {
    case 'ours':
      return provenance.actionId === timeBox.isolationActionId
        ? null
        : `${isolation}, but this app's isolation ${provenance.actionId} came after it and is in force: not releasing it`;
    case 'not-isolated':
      return `${isolation}, but the device was released since (action ${provenance.actionId}): nothing to release`;
    case 'lifted':
      return `${isolation}, but it is not in force: ${provenance.reason}`;
    case 'foreign':
      return `${isolation}, but ${provenance.isolatedBy.requestor} isolated the device since (action ${provenance.isolatedBy.actionId}): not releasing someone else's isolation`;
    case 'unknown':
      return `${isolation}, but ${provenance.reason}: not releasing`;
  }
}
