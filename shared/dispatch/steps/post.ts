/**
 * The POST: isolate or release the machine, within the request's reservation and while this process
 * still holds the machine's claim. Accepted, the action is recorded and tracked; refused, the request
 * is escalated (a device restricted for good), adopts the action under way (400
 * ActiveRequestAlreadyExists), or fails and is retried (lifecycle.ts).
 */
import { saysAttackDisruption } from '../../alerts/disruption';
import { ActionAlreadyInProgressError, RestrictedDeviceError } from '../../mde/errors';
import { callOf } from '../../mde/requests';
import { isTerminal, type MachineAction } from '../../mde/types';
import { currentReservation } from '../quota/current-reservation';
import { type BreakerSlot, commitSlot, releaseSlot } from './admit';
import { type Ending, outcome } from './ending';
import { adopt, trackedAction } from './follow';
import { judgePriorActions } from './idempotency';
import { asOf, type Plan, type Target, type WorkerDeps, where } from './life';
import { RESTRICTED_DEVICE_RULE } from './lifecycle';
import { ownership, refuseConflict, skipped } from './prior-actions';
import { recordFollowed } from './register';

/** `term`: the term of this process's lease (claim-keeper.ts) in which it took the machine's claim. */
export async function post(
  deps: WorkerDeps,
  target: Target,
  decided: Plan,
  slot: BreakerSlot,
  term: number,
): Promise<Ending> {
  const { api, store, clock, claims } = deps;
  const { verb, machine } = target;
  const plan = withDisruptionClaim(target, decided);
  let action: MachineAction;
  try {
    // The machine's claim lives by this process's lease: never post on one that may lapse meanwhile,
    // nor on one that lapsed since the claim was taken (a stall, renewals refused while the POST
    // waited for its slot), when another may hold the machine. Checked as the POST leaves.
    const reservation = currentReservation();
    if (!reservation) throw new Error(`the ${verb} POST is made outside its request's reservation`);
    reservation.beforeSending(callOf(verb).api, () => claims.holdingSince(term));
    action =
      verb === 'isolate' && plan.decision
        ? await api.isolate(machine.id, plan.comment, plan.decision.isolationType)
        : await api.release(machine.id, plan.comment);
  } catch (error) {
    // MDE did not accept this POST: the slot goes back. An isolation it executed anyway is counted
    // when a retry adopts it (`adopt` recognises our own comment).
    if (slot !== undefined) await releaseSlot(deps, target.request, slot);
    return afterRefusedPost(deps, target, plan, error);
  }
  const postedAt = new Date(clock.now()).toISOString();
  if (slot !== undefined) await commitSlot(deps, target.request, slot, action.id);
  const tracked = trackedAction(target, action.id, postedAt, false);
  await recordFollowed(store, target.request, tracked, action, plan.reason, postedAt);
  return { end: 'tracked', request: target.request, tracked };
}

/**
 * MDE refused the POST. A device restricted for good is escalated; 400 ActiveRequestAlreadyExists:
 * someone else's action is under way, adopt it, don't fail.
 */
async function afterRefusedPost(
  deps: WorkerDeps,
  target: Target,
  plan: Plan,
  error: unknown,
): Promise<Ending> {
  // Refused for good on this device: escalated at once, naming the machine.
  if (error instanceof RestrictedDeviceError)
    return outcome(target.request, {
      ...where(target.machine),
      outcome: 'escalated',
      rule: RESTRICTED_DEVICE_RULE,
      reason: error.message,
    });
  if (!(error instanceof ActionAlreadyInProgressError)) throw error;
  const current = await deps.recent.of(target.machine.id);
  const ledger = await deps.store.actions.forMachine(target.machine.id);
  const open = judgePriorActions(target.verb, current ?? [], asOf(deps), await ownership(deps, ledger));
  if (open.kind === 'adopt') return adopt(deps, target, plan, open.action);
  if (open.kind === 'skip' && !isTerminal(open.action.status))
    return skipped(target, open.action.id, open.reason);
  // The action in progress is the opposite one: the same refusal as before posting.
  if (open.kind === 'conflict') return refuseConflict(target, open.action.id, open.reason);
  // MDE's list does not show the action yet: retried with backoff (planAfterFailure), by which
  // time it should.
  throw error;
}

/**
 * An alert whose title says attack disruption acted, on a device MDE lists no Defender isolation of
 * (a skip would have ended the request): isolated as the policy decides, since a title proves nothing
 * (alerts/disruption.ts), and the register says so.
 */
function withDisruptionClaim({ request, verb }: Target, plan: Plan): Plan {
  if (verb !== 'isolate' || !saysAttackDisruption(request.alert)) return plan;
  return {
    ...plan,
    reason: `${plan.reason} (the alert says attack disruption acted, but MDE lists no isolation of this device by Defender)`,
  };
}
