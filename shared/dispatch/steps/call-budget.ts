/**
 * Every MDE call a request may make is reserved before it starts (quota/reservation.ts), so it either
 * runs through or is rescheduled whole.
 */
import type { CallBudget } from '../quota/api-budget';
import { Reservation } from '../quota/reservation';
import type { ActionRequest } from '../request';
import { deferred, go, type Step } from './ending';
import type { WorkerDeps } from './life';

export function reserveCalls(
  { throttle, policy, resolver }: Pick<WorkerDeps, 'throttle' | 'policy' | 'resolver'>,
  request: ActionRequest,
): Step<Reservation> {
  // The device's actions are read in both modes (a dry run says what enforce would do with them);
  // in dry-run nothing is posted.
  // A release also reads whose isolation it would end (provenance.ts).
  const needs: CallBudget = {
    machines: resolver.callsNeeded(request.device),
    machineactions: request.action === 'release' ? 2 : 1,
  };
  if (request.mode === 'enforce' && policy.modeFor(request.alert) === 'enforce')
    needs[request.action === 'isolate' ? 'isolate' : 'unisolate'] = 1;
  const reservation = throttle.reserve(needs, request.priority, request.requestId);
  if (reservation instanceof Reservation) return go(reservation);
  // Marked so its next delivery skips the ledger read (resume.ts): it posted nothing.
  return deferred(
    { ...request, unreserved: true },
    reservation.retryAt,
    'not enough MDE budget for the calls this request needs',
  );
}
