/**
 * The shared blast-radius breaker's admission for an isolate (a release needs none). The request
 * goes on with its slot, or ends escalated (the breaker is open), or waits (isolations in flight fill
 * the window).
 */
import { isManualRequest } from '../request';
import { breakerLimits } from './blast-radius';
import { deferred, go, outcome, type Step } from './ending';
import { type Target, type WorkerDeps, where } from './life';

/** The breaker reservation an isolate's POST commits or gives back; undefined for a release. */
export type BreakerSlot = string | undefined;

export async function admitToBreaker(
  { store, policy, clock, timing }: Pick<WorkerDeps, 'store' | 'policy' | 'clock' | 'timing'>,
  { request, verb, machine }: Target,
): Promise<Step<BreakerSlot>> {
  if (verb !== 'isolate') return go(undefined);
  const admission = await store.breaker.reserve(
    { requestId: request.requestId, manual: isManualRequest(request) },
    breakerLimits(policy),
  );
  if (admission.allowed) return go(admission.reservationId);
  if (admission.open)
    return outcome(request, {
      ...where(machine),
      outcome: 'escalated',
      rule: 'blast-radius',
      reason: admission.reason,
    });
  // The POSTs in flight are usually answered within one POST's time, long before their
  // reservations would expire (`retryAt`): ask again soon, which costs one store read.
  return deferred(
    request,
    Math.min(admission.retryAt, clock.now() + timing.transientBaseMs),
    admission.reason,
  );
}
