import type { BreakerAdmission, BreakerLimits, StateStore } from '../../shared/state/store';

let isolations = 0;

/** One isolation through the shared breaker as the worker does it: reserved, and committed when admitted. */
export async function admitIsolation(
  store: StateStore,
  limits: BreakerLimits,
  options: { manual: boolean },
): Promise<BreakerAdmission> {
  isolations += 1;
  const admission = await store.breaker.reserve({ requestId: `req-${isolations}`, ...options }, limits);
  if (admission.allowed) await store.breaker.commit(admission.reservationId, `action-${isolations}`);
  return admission;
}
