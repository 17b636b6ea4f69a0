/**
 * Stand-in for the worker's bookkeeping that the manual endpoints read (the action ledger entry of a
 * request, the register record of a device), for a runtime whose worker does not write them yet:
 * when an isolate or release POST succeeds, the entry and the record are written through the same
 * store, under the request id that `submitManual` returned last for that machine.
 */
import type { ManualOrder } from '../../shared/dispatch/dispatcher';
import type { MdeApi } from '../../shared/mde/api';
import type { MachineAction } from '../../shared/mde/types';
import type { Runtime } from '../../shared/runtime';
import type { StateStore } from '../../shared/state/store';

export interface Bookkeeping {
  decorateApi(api: MdeApi): MdeApi;
  /** The runtime with `submitManual` noting each request id for the machine it names. */
  wrap(runtime: Runtime): Runtime;
}

export function workerBookkeeping(store: StateStore): Bookkeeping {
  const requestOf = new Map<string, string>();
  const record = async (action: MachineAction, verb: 'isolate' | 'release') => {
    const requestId = requestOf.get(action.machineId);
    if (!requestId) return;
    const type = verb === 'isolate' ? 'Isolate' : 'Unisolate';
    await store.actions.record({
      machineId: action.machineId,
      actionId: action.id,
      requestId,
      type,
      status: action.status,
      adopted: false,
      createdAt: action.creationDateTimeUtc,
      recordedAt: new Date().toISOString(),
    });
    await store.register.record({
      machineId: action.machineId,
      state: verb === 'isolate' ? 'isolating' : 'releasing',
      requestId,
      reason: `${verb} posted`,
      provenance: {
        requestedBy: { kind: 'caller', name: action.requestor },
        alertSource: 'manual',
        alertId: requestId,
        incidentId: null,
        incidentArmId: null,
        policyVersion: 'test',
        mode: 'enforce',
        reason: action.requestorComment,
      },
      action: {
        actionId: action.id,
        type,
        status: action.status,
        requestor: action.requestor,
        requestSource: action.requestSource ?? null,
      },
    });
  };
  return {
    decorateApi: (api) => ({
      getMachine: (id) => api.getMachine(id),
      findMachinesByDnsName: (name) => api.findMachinesByDnsName(name),
      findMachinesByHostname: (name) => api.findMachinesByHostname(name),
      findMachinesByAadDeviceId: (id) => api.findMachinesByAadDeviceId(id),
      findMachinesByIp: (ip, at) => api.findMachinesByIp(ip, at),
      findMachinesByTag: (tag, options) => api.findMachinesByTag(tag, options),
      getMachineAction: (id) => api.getMachineAction(id),
      listMachineActions: (filter) => api.listMachineActions(filter),
      async isolate(machineId, comment, type) {
        const action = await api.isolate(machineId, comment, type);
        await record(action, 'isolate');
        return action;
      },
      async release(machineId, comment) {
        const action = await api.release(machineId, comment);
        await record(action, 'release');
        return action;
      },
    }),
    wrap: (runtime) => ({
      ...runtime,
      async submitManual(order: ManualOrder) {
        const request = await runtime.submitManual(order);
        if (order.device.mdeDeviceId) requestOf.set(order.device.mdeDeviceId, request.requestId);
        return request;
      },
    }),
  };
}
