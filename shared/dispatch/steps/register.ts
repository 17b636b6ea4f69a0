/**
 * What the worker and the tracker write to the isolation register and the action ledger at each step
 * of a request (docs/architecture.md §4.6): the device's state with who asked and why, and the MDE
 * action followed. Outcomes that post nothing (dry run, skipped, escalated) write no record.
 */
import type { MachineAction, MachineActionStatus } from '../../mde/types';
import type {
  IsolationActionType,
  IsolationState,
  Provenance,
  RegisterAction,
  StateStore,
} from '../../state/store';
import { approvalWords, type IsolationRequest, type TrackedAction } from '../request';
import { keyOf } from './coalesce';
import { expiresAt, tookEffectAt } from './expiry';

export const ACTION_TYPE = { isolate: 'Isolate', release: 'Unisolate' } as const satisfies Record<
  'isolate' | 'release',
  IsolationActionType
>;

/** Who asked and why, as the register keeps it; `reason` is the decision's. */
export function provenanceOf(request: IsolationRequest, reason: string): Provenance {
  const { alert } = request;
  return {
    requestedBy: request.requestedBy,
    alertSource: alert.source,
    alertId: alert.alertId,
    incidentId: alert.incidentId,
    incidentArmId: alert.incidentArmId ?? null,
    policyVersion: request.policyVersion,
    mode: request.mode,
    reason,
    comment: alert.manual?.comment ?? alert.title,
  };
}

/** The action as the register shows it: who posted it (MDE's `requestor`) and what this request did with it. */
export function registerAction(
  request: IsolationRequest,
  tracking: TrackedAction,
  action: MachineAction,
): RegisterAction {
  return {
    actionId: action.id,
    type: ACTION_TYPE[tracking.action],
    status: action.status,
    requestor: action.requestor ?? null,
    requestSource: action.requestSource ?? null,
    adopted: tracking.adopted,
    followedFor: { requestId: request.requestId, alertId: request.alert.alertId },
  };
}

/** The device's state once its action ended with `status`. */
export function endState(verb: 'isolate' | 'release', status: MachineActionStatus): IsolationState {
  switch (status) {
    case 'Succeeded':
      return verb === 'isolate' ? 'isolated' : 'released';
    case 'TimeOut':
      return 'timed-out';
    case 'Cancelled':
      return 'cancelled';
    default:
      return 'failed';
  }
}

/**
 * The request now follows `action` (posted, or adopted when `adopted`): the register shows the device
 * isolating or releasing, then the ledger records the action, which is what a redelivered message or a
 * new process finds. A terminal action is recorded closed.
 */
export async function recordFollowed(
  store: StateStore,
  request: IsolationRequest,
  tracking: TrackedAction,
  action: MachineAction,
  reason: string,
  recordedAt: string,
): Promise<void> {
  const verb = tracking.action;
  await store.register.record({
    machineId: tracking.machineId,
    computerDnsName: tracking.computerDnsName,
    state: verb === 'isolate' ? 'isolating' : 'releasing',
    requestId: request.requestId,
    reason: `${
      tracking.adopted
        ? `followed ${ACTION_TYPE[verb]} action ${action.id} already under way, posted by ${action.requestor ?? 'someone else'} (adopted)`
        : `posted ${ACTION_TYPE[verb]} action ${action.id}`
    }${request.approval ? ` after ${approvalWords(request.approval)}` : ''}`,
    provenance: provenanceOf(request, reason),
    action: registerAction(request, tracking, action),
  });
  await store.actions.record({
    machineId: tracking.machineId,
    actionId: action.id,
    requestId: request.requestId,
    type: ACTION_TYPE[verb],
    status: action.status,
    adopted: tracking.adopted,
    computerDnsName: tracking.computerDnsName,
    createdAt: action.creationDateTimeUtc,
    recordedAt,
    deviceKey: keyOf(request),
  });
}

/**
 * The action ended (or nobody follows it any more): the register shows how, the ledger closes it. An
 * isolation that took effect is recorded with its end (expiry.ts): its time box, at most `platformLiftMs`.
 */
export async function recordEnded(
  store: StateStore,
  request: IsolationRequest,
  tracking: TrackedAction,
  end: { state: IsolationState; reason: string; action?: MachineAction },
  platformLiftMs: number,
): Promise<void> {
  const from = end.action ? tookEffectAt(end.action) : null;
  const ends = from === null ? null : expiresAt(from, platformLiftMs, request.isolateForMs);
  const box = request.isolateForMs;
  await store.register.record({
    machineId: tracking.machineId,
    state: end.state,
    requestId: request.requestId,
    reason: end.reason,
    ...(ends !== null && {
      expiresAt: new Date(ends).toISOString(),
      expiresBy: box !== undefined && box < platformLiftMs ? 'time-box' : 'platform-lift',
    }),
    // Used only when the register missed the start of this request (written when it posted).
    provenance: provenanceOf(request, end.reason),
    ...(end.action && { action: registerAction(request, tracking, end.action) }),
  });
  if (end.action) await store.actions.setStatus(tracking.machineId, tracking.actionId, end.action.status);
  else await store.actions.abandon(tracking.machineId, tracking.actionId);
}
