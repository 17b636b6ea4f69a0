/**
 * The request follows an MDE action to its end: one it posted, or one it adopts (someone else's, or
 * its own earlier attempt whose answer was lost). Recorded in the register and the ledger, then
 * tracked; an adopted action already over ends the request with its status.
 */
import { isTerminal, type MachineAction } from '../../mde/types';
import { OUTCOME_OF_STATUS } from '../outcome';
import { type TrackedAction, trackingRequestFor } from '../request';
import { countAdopted } from './admit';
import { type Ending, outcome } from './ending';
import { scheduleIsolationEnd } from './isolation-end';
import type { Plan, Target, WorkerDeps } from './life';
import { endState, recordEnded, recordFollowed } from './register';
import { terminalReason } from './tracker';

/**
 * This request's outcome is `action`'s. An isolation this app posted with this request's comment
 * (an earlier attempt whose answer was lost) is counted by the breaker (and the deployment-wide
 * cap); counting is per action,
 * so adopting it again counts nothing.
 */
export async function adopt(
  deps: WorkerDeps,
  target: Target,
  plan: Plan,
  action: MachineAction,
  latest?: MachineAction,
): Promise<Ending> {
  const { store, clock, lifecycle, queue, platformLiftMs } = deps;
  const { request, verb } = target;
  if (verb === 'isolate' && action.requestorComment?.trim() === plan.comment.trim())
    await countAdopted(deps, request, action.id);
  const tracked = trackedAction(target, action.id, action.creationDateTimeUtc, true);
  await recordFollowed(store, request, tracked, action, plan.reason, new Date(clock.now()).toISOString());
  lifecycle.adopted(request, action);
  if (!isTerminal(action.status)) return { end: 'tracked', request, tracked };
  // Already over: its status is this request's outcome, no polling needed.
  const tracking = trackingRequestFor(request, tracked);
  const since =
    latest && latest.id !== action.id
      ? `; since then: ${latest.type} action ${latest.id} (${latest.status})`
      : '';
  const reason = `${terminalReason(tracked, action)}${since}`;
  const state = endState(verb, action.status);
  await recordEnded(store, tracking, tracked, { state, reason, action }, platformLiftMs);
  if (state === 'isolated') await scheduleIsolationEnd(queue, tracking, action, platformLiftMs, clock.now());
  return outcome(tracking, {
    outcome: OUTCOME_OF_STATUS[action.status] ?? 'failed',
    actionStatus: action.status,
    reason,
  });
}

export function trackedAction(
  { verb, machine }: Target,
  actionId: string,
  postedAt: string,
  adopted: boolean,
): TrackedAction {
  return {
    actionId,
    action: verb,
    machineId: machine.id,
    computerDnsName: machine.computerDnsName,
    postedAt,
    adopted,
    polls: 0,
  };
}
