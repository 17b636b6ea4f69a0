/**
 * Time-boxed isolation (docs/decisions/0016-isolation-expiry-and-time-boxes.md): an isolation whose
 * rule or requester asked for `isolateFor` is released when its box ends, through the normal release
 * path, and only while it is still this app's own and the newest action on the machine. The release
 * is a request scheduled on the queue when the isolation takes effect (a Service Bus scheduled
 * message; the in-process queue's schedule inline). When it comes due it asks the register for the
 * end as it stands now (an extension pushes it; the request then waits again), and MDE, through
 * release provenance, whether the isolation is still the one to end. The reconciler is the safety net
 * for a lost message: it calls `releaseDueTimeBoxes`.
 */
import { createHash } from 'node:crypto';
import type { NormalizedAlert } from '../../alerts/model';
import type { Clock } from '../../kernel/clock';
import type { MachineAction } from '../../mde/types';
import type { IsolationRecord, StateStore } from '../../state/store';
import {
  type ActionRequest,
  dedupeKey,
  type IsolationRequest,
  isManualRequest,
  priorityOf,
} from '../request';
import { messageFor, type RequestQueue } from '../transport/queue';
import { deferred, type Ending } from './ending';
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

/** What a time-box release keeps of the isolation it ends: the alert it answered, how it was decided. */
type IsolatedFor = Pick<ActionRequest, 'alert' | 'isolationType' | 'policyVersion' | 'mode'>;

/** The release that ends `isolation`'s time box. */
export function timeBoxRelease(
  { alert, isolationType, policyVersion, mode }: IsolatedFor,
  isolation: Pick<MachineAction, 'id' | 'machineId'>,
  now: number,
): ActionRequest {
  const device = { mdeDeviceId: isolation.machineId.toLowerCase() };
  const about = { ...alert, devices: [device] };
  return {
    action: 'release',
    requestId: timeBoxRequestId(isolation.id),
    device,
    isolationType,
    priority: priorityOf(alert.severity, isManualRequest({ alert })),
    alert: about,
    requestedBy: { kind: 'rule', name: TIME_BOX_RULE },
    rule: TIME_BOX_RULE,
    policyVersion,
    mode,
    attempt: 0,
    deferrals: 0,
    dedupeKey: dedupeKey('release', device, mode),
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
 * A time-box release whose isolation was extended waits for the new end, before it takes the device
 * key: until then it holds nothing. Null when it goes on (no time box, or it is due).
 */
export async function timeBoxDue(
  { store, clock }: { store: StateStore; clock: Clock },
  request: ActionRequest,
): Promise<Ending | null> {
  if (!request.timeBox) return null;
  const machineId = request.device.mdeDeviceId;
  const record = machineId ? await store.register.get(machineId) : null;
  const until = timeBoxWaitsUntil(record, request.timeBox, clock.now());
  if (until === null) return null;
  return deferred(request, until, `the time box was extended to ${new Date(until).toISOString()}`);
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

/**
 * The safety net for a lost scheduled release, for the reconciler to call: every isolation the
 * register shows `isolated` whose time box ended by `now`, its release sent again (the same request
 * id as the scheduled one, so the worker's checks decide it like that one: only this app's isolation
 * still in force and still the newest action is released). At most LIST_MAX records are read per call;
 * answers how many releases were sent.
 */
export async function releaseDueTimeBoxes(
  store: StateStore,
  queue: RequestQueue,
  now: number,
): Promise<number> {
  const due = (await store.register.list({ state: 'isolated' })).filter(
    (r) => r.expiresBy === 'time-box' && r.expiresAt && Date.parse(r.expiresAt) <= now,
  );
  let sent = 0;
  for (const record of due) {
    const isolation = record.actions.find((a) => a.type === 'Isolate');
    if (!isolation) continue;
    const { provenance: p } = record;
    const alert: NormalizedAlert = {
      source: p.alertSource,
      alertId: p.alertId,
      incidentId: p.incidentId,
      incidentArmId: p.incidentArmId,
      title: `time box of isolation ${isolation.actionId} ended`,
      severity: 'high',
      firing: true,
      categories: [],
      mitreTechniques: [],
      devices: [],
    };
    const release = timeBoxRelease(
      { alert, isolationType: 'Full', policyVersion: p.policyVersion, mode: p.mode },
      { id: isolation.actionId, machineId: record.machineId },
      now,
    );
    await queue.send(messageFor(release));
    sent += 1;
  }
  return sent;
}
