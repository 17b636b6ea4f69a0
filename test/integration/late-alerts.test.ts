/**
 * Late alerts (their device's request ended, its isolation in force) through intake, the in-process
 * queue, the worker and the simulator: absorbed into the isolation on a shared read of MDE's list,
 * without a lookup or an isolate slot; and never on the app's belief alone, which an analyst's
 * release in the portal does not change.
 */
import type { IntakeResult } from '../../shared/intake/receive-alerts';
import { mdeAlert } from '../support/alert-payloads';
import { type Harness, startHarness, TEST_POLICY, until } from './harness';

const DOMAIN = 'contoso.local';

function requestIds(result: IntakeResult): string[] {
  return result.alerts.flatMap((a) => (a.status === 'accepted' ? a.requests.map((r) => r.requestId) : []));
}

describe('a late alert for a device whose isolation is in force', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ policy: TEST_POLICY });
  });
  afterEach(() => h.close());

  const outcomeOf = (requestId: string) => h.outcomes.filter((o) => o.requestId === requestId);
  const callsSince = (from: number, api: string) =>
    h.sim
      .calls()
      .slice(from)
      .filter((c) => c.api === api);

  it('is absorbed into it without a lookup or an isolate call: one read of MDE list for both devices', async () => {
    const named = h.machineId(`ws-finance-01.${DOMAIN}`);
    const byId = h.machineId(`ws-hr-02.${DOMAIN}`);
    const first = requestIds(
      await h.submit([mdeAlert({ dnsName: `ws-finance-01.${DOMAIN}` }), mdeAlert({ machineId: byId })]),
    );
    await h.settle();
    for (const requestId of first)
      expect(outcomeOf(requestId)).toEqual([expect.objectContaining({ outcome: 'succeeded' })]);
    const from = h.sim.calls().length;
    const late = requestIds(
      await h.submit([mdeAlert({ dnsName: `ws-finance-01.${DOMAIN}` }), mdeAlert({ machineId: byId })]),
    );
    await h.settle();
    for (const [index, machine] of [named, byId].entries()) {
      const [isolation] = h.actionsOn(machine, 'Isolate');
      expect(h.actionsOn(machine, 'Isolate')).toHaveLength(1);
      expect(outcomeOf(late[index])).toEqual([
        expect.objectContaining({
          outcome: 'skipped',
          machineId: machine,
          actionId: isolation.id,
          reason: expect.stringMatching(
            new RegExp(
              `already isolated by this app's action ${isolation.id} \\(request ${first[index]}\\).*absorbed into it`,
            ),
          ),
        }),
      ]);
    }
    expect(callsSince(from, 'machines')).toHaveLength(0);
    expect(callsSince(from, 'isolate')).toHaveLength(0);
    // Both read in one call, after they came in.
    expect(callsSince(from, 'machineactions')).toHaveLength(1);
  });

  it('is decided anew after an analyst released the device, though the register still says isolated', async () => {
    const machine = h.machineId(`ws-hr-02.${DOMAIN}`);
    const [first] = requestIds(await h.submit(mdeAlert({ machineId: machine })));
    await h.settle();
    expect(outcomeOf(first)).toEqual([expect.objectContaining({ outcome: 'succeeded' })]);
    await h.runtime.api.release(machine, 'false positive, released by the analyst');
    await until(() => h.sim.machineState(machine)?.isolated === false);
    expect((await h.runtime.store.register.get(machine))?.state).toBe('isolated');
    const [again] = requestIds(await h.submit(mdeAlert({ machineId: machine })));
    await h.settle();
    expect(outcomeOf(again)).toEqual([expect.objectContaining({ outcome: 'succeeded' })]);
    expect(h.actionsOn(machine, 'Isolate')).toHaveLength(2);
  });
});
