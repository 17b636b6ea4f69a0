/**
 * Tracking through the whole pipeline: statuses come from the batched list, and an action the list
 * does not show is read by id.
 */
import type { MdeApi } from '../../shared/mde/api';
import { mdeAlert } from '../support/alert-payloads';
import { type Harness, startHarness } from './harness';

const DOMAIN = 'contoso.local';

describe('tracking an action the list leaves out', () => {
  /** Machines whose actions MDE's list does not show (as if it lagged behind them for good). */
  const unlisted = new Set<string>();
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      decorateApi: (api) =>
        Object.assign(Object.create(api) as MdeApi, {
          listMachineActions: async (filter: Parameters<MdeApi['listMachineActions']>[0]) =>
            (await api.listMachineActions(filter)).filter((a) => !unlisted.has(a.machineId)),
        }),
    });
  });
  afterAll(() => h.close());

  it('falls back to a GET by id and still reports the end', async () => {
    const finance = h.machineId(`ws-finance-01.${DOMAIN}`);
    const hr = h.machineId(`ws-hr-02.${DOMAIN}`);
    unlisted.add(finance);
    await h.submit([mdeAlert({ machineId: finance }), mdeAlert({ machineId: hr })]);
    await h.settle();

    const succeeded = h.outcomes.filter((o) => o.outcome === 'succeeded');
    expect(new Set(succeeded.map((o) => o.machineId))).toEqual(new Set([finance, hr]));
    const [hidden] = h.actionsOn(finance, 'Isolate');
    const reads = h.sim.calls().filter((c) => c.api === 'machineactions');
    expect(reads.some((c) => c.path === `/api/machineactions/${hidden.id}`)).toBe(true);
    // Tracking lists name no machine: every followed action is matched by id in one list.
    expect(
      reads.some((c) => c.path.startsWith('/api/machineactions?') && !c.path.includes('machineId')),
    ).toBe(true);
  });
});
