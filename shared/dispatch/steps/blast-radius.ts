/**
 * The policy's blast-radius limits applied with the shared breaker of the state store: the one
 * translation between the two, used by intake's side of the dispatcher and by the worker. Beside it,
 * the deployment-wide cap across tenants, whose limits come from the settings, never a policy
 * (docs/decisions/0035-a-deployment-wide-isolation-cap.md).
 */
import type { IsolationPolicy } from '../../policy/types';
import type { BreakerLimits, BreakerStore } from '../../state/store';

export function breakerLimits(policy: IsolationPolicy): BreakerLimits {
  return { limit: policy.blastRadius.maxIsolations, windowMs: policy.blastRadius.windowMs };
}

/** The deployment-wide cap: the deployment's store's cap breaker, and MDE_DEPLOYMENT_MAX_ISOLATIONS. */
export interface DeploymentCap {
  breaker: BreakerStore;
  limits: BreakerLimits;
}

/** The rule an isolation escalated by the deployment-wide cap names. */
export const DEPLOYMENT_CAP_RULE = 'deployment-cap';
