/**
 * The shared blast-radius breaker's admission for an isolate (a release needs none), and the
 * deployment-wide cap's when the settings set one (docs/decisions/0035-a-deployment-wide-isolation-cap.md).
 * The request goes on with its slots, or ends escalated (the breaker or the cap is open), or waits
 * (isolations in flight fill the window).
 */
import {
  type BreakerAdmission,
  type BreakerLimits,
  type BreakerStore,
  StoreUnavailableError,
} from '../../state/store';
import { type ActionRequest, isManualRequest } from '../request';
import { breakerLimits, DEPLOYMENT_CAP_RULE } from './blast-radius';
import { deferred, go, outcome, type Step } from './ending';
import { type Target, type WorkerDeps, where } from './life';

/**
 * The reservations an isolate's POST commits or gives back: its breaker's, and the deployment cap's
 * when one is set; undefined for a release.
 */
export type BreakerSlot = { breaker: string; cap: string | null } | undefined;

type AdmitDeps = Pick<WorkerDeps, 'store' | 'policy' | 'clock' | 'timing' | 'deploymentCap'>;

export async function admitToBreaker(deps: AdmitDeps, target: Target): Promise<Step<BreakerSlot>> {
  const { store, policy, deploymentCap } = deps;
  if (target.verb !== 'isolate') return go(undefined);
  const own = await reserveIn(store.breaker, target, breakerLimits(policy));
  if (!own.allowed) return refused(deps, target, own, 'blast-radius');
  if (!deploymentCap) return go({ breaker: own.reservationId, cap: null });
  let cap: BreakerAdmission;
  try {
    cap = await reserveIn(deploymentCap.breaker, target, deploymentCap.limits);
  } catch (error) {
    await store.breaker.release(own.reservationId);
    throw error;
  }
  if (cap.allowed) return go({ breaker: own.reservationId, cap: cap.reservationId });
  // Nothing is posted: the breaker's slot goes back, as the cap's would.
  await store.breaker.release(own.reservationId);
  return refused(deps, target, cap, DEPLOYMENT_CAP_RULE);
}

type SlotDeps = Pick<WorkerDeps, 'store' | 'deploymentCap' | 'lifecycle'>;

/** MDE accepted isolation `actionId`: counted by the breaker and the cap. */
export async function commitSlot(
  deps: SlotDeps,
  request: ActionRequest,
  slot: NonNullable<BreakerSlot>,
  actionId: string,
): Promise<void> {
  await deps.store.breaker.commit(slot.breaker, actionId);
  const { cap } = slot;
  if (cap !== null) await capWrite(deps, request, (breaker) => breaker.commit(cap, actionId));
}

/** Nothing was posted: both slots go back. */
export async function releaseSlot(
  deps: SlotDeps,
  request: ActionRequest,
  slot: NonNullable<BreakerSlot>,
): Promise<void> {
  const { cap } = slot;
  if (cap !== null) await capWrite(deps, request, (breaker) => breaker.release(cap));
  await deps.store.breaker.release(slot.breaker);
}

/**
 * An isolation this app posted whose answer was lost, adopted: counted by the breaker and the cap
 * (their slots went back when the POST seemed to fail), once per action however often it is adopted.
 */
export async function countAdopted(deps: SlotDeps, request: ActionRequest, actionId: string): Promise<void> {
  await deps.store.breaker.commit(null, actionId);
  await capWrite(deps, request, (breaker) => breaker.commit(null, actionId));
}

/**
 * The cap's write once MDE has answered. The cap is one row that every lane of every instance
 * writes, in the deployment's store: a write it refuses is noted, never let to stop the request's
 * own bookkeeping (the ledger entry that makes its isolation followed and posted once, or MDE's own
 * refusal reason). A commit missed leaves that isolation out of the cap's count once its reservation
 * expires: the backstop errs, never the ledger.
 */
async function capWrite(
  { deploymentCap, lifecycle }: SlotDeps,
  request: ActionRequest,
  write: (breaker: BreakerStore) => Promise<unknown>,
): Promise<void> {
  if (!deploymentCap) return;
  try {
    await write(deploymentCap.breaker);
  } catch (error) {
    if (!(error instanceof StoreUnavailableError)) throw error;
    lifecycle.noteStoreMiss(request, error);
  }
}

function reserveIn(breaker: BreakerStore, { request }: Target, limits: BreakerLimits) {
  return breaker.reserve({ requestId: request.requestId, manual: isManualRequest(request) }, limits);
}

function refused(
  { clock, timing }: AdmitDeps,
  { request, machine }: Target,
  admission: Exclude<BreakerAdmission, { allowed: true }>,
  rule: string,
): Step<BreakerSlot> {
  if (admission.open)
    return outcome(request, { ...where(machine), outcome: 'escalated', rule, reason: admission.reason });
  // The POSTs in flight are usually answered within one POST's time, long before their
  // reservations would expire (`retryAt`): ask again soon, which costs one store read.
  return deferred(
    request,
    Math.min(admission.retryAt, clock.now() + timing.transientBaseMs),
    admission.reason,
  );
}
