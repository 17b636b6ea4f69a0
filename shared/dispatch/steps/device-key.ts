/**
 * The request's device key, taken before resolution (coalesce.ts): the request goes on holding it,
 * with the priority of the most urgent alert it absorbed, or beside an opposite action under way; or
 * it ends absorbed by the request holding it, or waits behind that one.
 */
import type { ActionRequest } from '../request';
import { claimStep, describeAsk, heldHereAlone, keyOf } from './coalesce';
import { deferred, go, type Step } from './ending';
import type { WorkerDeps } from './life';

export async function claimDeviceKey(
  { store, clock, timing, claims }: Pick<WorkerDeps, 'store' | 'clock' | 'timing' | 'claims'>,
  request: ActionRequest,
): Promise<Step<ActionRequest>> {
  const holding = await claims.holding();
  const now = clock.now();
  const claim = await store.openRequests.update(keyOf(request), claimStep(request, now, holding), {
    // Its own entry, held by this inline process: nothing but this process changes it.
    unwrittenFromCopy: (answer) => answer.kind === 'own' && heldHereAlone(answer.entry, holding.holder),
  });
  switch (claim.kind) {
    case 'own':
      return go({ ...request, priority: Math.min(request.priority, claim.entry.priority) });
    case 'absorbed':
      return { end: 'absorbed', request, carrier: claim.carrier };
    case 'waits':
      // Asked again well before the one ahead could have ended, at the latest when its holder's
      // lease runs out unless renewed.
      return deferred(
        request,
        Math.min(claim.behind.heldUntil, now + timing.trackMaxInProgressMs),
        `waiting behind request ${claim.behind.requestId} for this device, which asks for less (${describeAsk(claim.behind)}); decided when it ends`,
      );
    case 'apart':
      return go(request);
    case 'free':
      throw new Error('a claim always opens a free device key');
  }
}
