/**
 * Stage 2 of the policy on the machine record, with the shared breaker as it is now; for a release,
 * whose isolation it would end. The request goes on with the plan it posts, or ends skipped or
 * escalated.
 */
import { isManualRequest } from '../request';
import { go, outcome, type Step } from './ending';
import { asOf, type Plan, type Target, type WorkerDeps, where } from './life';
import { type ReleaseProvenance, releaseProvenance, releaseRefusal } from './provenance';
import { renewalComment, renewalRefusal } from './renewal';
import { TIME_BOX_RULE, timeBoxOutlived } from './time-box';

type DecideDeps = Pick<
  WorkerDeps,
  | 'policy'
  | 'store'
  | 'clock'
  | 'api'
  | 'identity'
  | 'platformLiftMs'
  | 'incidents'
  | 'timing'
  | 'breakerState'
>;

export async function decideOnMachine(deps: DecideDeps, target: Target): Promise<Step<Plan>> {
  if (target.verb === 'release') return decideRelease(deps, target);
  const { policy, store, clock } = deps;
  const { request, machine } = target;
  const incidents = { reader: deps.incidents, maxAttempts: deps.timing.transientMaxAttempts };
  const renewal =
    request.renewal && (await renewalRefusal(request, await store.register.get(machine.id), incidents));
  if (renewal) return outcome(request, { ...where(machine), ...renewal });
  const breaker = await deps.breakerState();
  const decision = policy.decideDevice(request.alert, request.device, machine, {
    now: new Date(clock.now()),
    breaker,
  });
  if (decision.action !== 'isolate')
    return outcome(request, {
      ...where(machine),
      outcome: decision.action === 'skip' ? 'skipped' : 'escalated',
      rule: decision.rule,
      reason: decision.reason,
    });
  const comment = policy.comment(request.alert, decision, request.requestedBy.name);
  return go({
    decision,
    comment: request.renewal ? renewalComment(comment, request.renewal) : comment,
    reason: decision.reason,
  });
}

async function decideRelease(deps: DecideDeps, { request, machine }: Target): Promise<Step<Plan>> {
  const { api, store, identity, policy } = deps;
  const provenance = await releaseProvenance({ api, store, identity }, machine.id, asOf(deps));
  const outlived = request.timeBox && timeBoxOutlived(request.timeBox, provenance);
  if (outlived)
    return outcome(request, { ...where(machine), outcome: 'skipped', rule: TIME_BOX_RULE, reason: outlived });
  const refused = refusedRelease(request, provenance);
  if (refused) return outcome(request, { ...where(machine), outcome: 'escalated', ...refused });
  const { alert } = request;
  return go({
    decision: null,
    comment: policy.releaseComment(alert, request.requestedBy.name, request.rule),
    reason: alert.manual?.comment ?? alert.title,
  });
}

/**
 * Whose isolation the release would end (provenance.ts), asked again here whoever queued it (the
 * manual API and the CLI ask before queueing; a replayed dead-letter record, another process or an
 * older version may not). Null when the release may go on: the isolation in force is this app's, the
 * newest action is a release, or a person forced it.
 */
function refusedRelease(
  request: Target['request'],
  provenance: ReleaseProvenance,
): { rule: string; reason: string } | null {
  const forced = isManualRequest(request) && request.alert.manual?.forceReason !== undefined;
  const refusal = releaseRefusal(provenance, forced);
  return (
    refusal && {
      rule: refusal.code,
      reason: `${refusal.cause}; not releasing it unless a person forces it with a reason`,
    }
  );
}
