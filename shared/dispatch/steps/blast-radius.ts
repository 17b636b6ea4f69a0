/**
 * The policy's blast-radius limits applied with the shared breaker of the state store: the one
 * translation between the two, used by intake's side of the dispatcher and by the worker.
 */
import type { IsolationPolicy } from '../../policy/types';
import type { BreakerLimits } from '../../state/store';

export function breakerLimits(policy: IsolationPolicy): BreakerLimits {
  return { limit: policy.blastRadius.maxIsolations, windowMs: policy.blastRadius.windowMs };
}
