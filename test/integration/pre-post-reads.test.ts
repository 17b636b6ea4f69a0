/**
 * Between a request's POST slot and its POST the worker reads MDE's list of the machine's actions and
 * the machine's action ledger (steps/prior-actions.ts): the ledger read is under way while MDE's list
 * is read, not started once it has been, so the store's round trip is not added to MDE's on the path.
 * Through intake, the in-process queue, the worker and the simulator.
 */
import type { MdeApi } from '../../shared/mde/api';
import { InMemoryStateStore } from '../../shared/state/memory';
import type { StateStore } from '../../shared/state/store';
import { mdeAlert } from '../support/alert-payloads';
import { type Harness, queuedRequestIds, startHarness } from './harness';

const NAMES = ['ws-finance-01', 'ws-hr-02', 'web1'].map((name) => `${name}.contoso.local`);

describe('the ledger read before a POST', () => {
  let h: Harness;

  afterEach(async () => {
    await h.close();
  });

  it("is under way when MDE's list of the machine's actions is read", async () => {
    /** Machines whose ledger listing the worker has asked for, lower case. */
    const listed = new Set<string>();
    /** For each read of MDE's list naming machines, whether each of them had its ledger listing asked for. */
    const ledgerAskedFirst: boolean[] = [];
    const store: StateStore = new InMemoryStateStore();
    const forMachine = store.actions.forMachine.bind(store.actions);
    store.actions.forMachine = (machineId) => {
      listed.add(machineId.toLowerCase());
      return forMachine(machineId);
    };
    const decorateApi = (api: MdeApi): MdeApi =>
      Object.assign(Object.create(api) as MdeApi, {
        listMachineActions: (filter: Parameters<MdeApi['listMachineActions']>[0]) => {
          // Tracking reads the statuses of every action at once, naming no machine.
          const machines = [filter.machineId ?? []].flat().map((id) => id.toLowerCase());
          if (machines.length > 0) ledgerAskedFirst.push(machines.every((id) => listed.has(id)));
          return api.listMachineActions(filter);
        },
      });
    h = await startHarness({ store, decorateApi });
    const result = await h.submit(
      NAMES.map((dnsName) => mdeAlert({ machineId: h.machineId(dnsName), dnsName }, { severity: 'High' })),
    );
    expect(queuedRequestIds(result)).toHaveLength(NAMES.length);
    await h.settle();
    expect(h.outcomes.map((o) => o.outcome)).toEqual(NAMES.map(() => 'succeeded'));
    expect(ledgerAskedFirst.length).toBeGreaterThan(0);
    expect(ledgerAskedFirst).toEqual(ledgerAskedFirst.map(() => true));
  });
});
