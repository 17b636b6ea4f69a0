/**
 * Many isolations in force, made cheaply for reconciliation tests and the reconcile benchmark: each an
 * isolate posted under the app's client id (as if through the API, without spending the simulated
 * quota) and the register's record of it, as the worker would have written it.
 */
import type { StateStore } from '../../shared/state/store';
import { type RunningSimulator, SYSTEM_IDENTITY_CLIENT_ID } from '../../simulator';

export async function isolationsInForce(
  sim: RunningSimulator,
  store: StateStore,
  machineIds: string[],
): Promise<void> {
  for (const machineId of machineIds) {
    const action = sim.portalAction(machineId, 'Isolate', {
      requestor: SYSTEM_IDENTITY_CLIENT_ID,
      comment: 'mde-isolator: bench',
    });
    await store.register.record({
      machineId,
      state: 'isolated',
      requestId: `req-${machineId.slice(0, 12)}`,
      reason: 'MDE reports Succeeded',
      provenance: {
        requestedBy: { kind: 'rule', name: 'isolate-high' },
        alertSource: 'mde-alert',
        alertId: `alert-${machineId.slice(0, 12)}`,
        incidentId: null,
        incidentArmId: null,
        policyVersion: 'bench-1',
        mode: 'enforce',
        reason: 'high-severity alert',
      },
      action: {
        actionId: action.id,
        type: 'Isolate',
        status: 'Succeeded',
        requestor: SYSTEM_IDENTITY_CLIENT_ID,
        requestSource: 'PublicApi',
      },
    });
  }
}
