import type { BlastRadiusBreaker, BreakerAdmission } from '../../shared/policy/types';

let isolations = 0;

/** One isolation through the breaker as the worker does it: reserved, and committed when admitted. */
export function admitIsolation(
  breaker: BlastRadiusBreaker,
  now: Date,
  options: { manual: boolean },
): BreakerAdmission {
  const admission = breaker.reserve(now, options);
  if (admission.allowed) breaker.commit(`action-${++isolations}`, now, admission.reservation);
  return admission;
}
