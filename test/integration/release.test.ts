/**
 * Releasing decides from the machine's whole recent history, whatever order MDE lists it in; with
 * nothing on record whose isolation it would end is unknown, so only a person's forced release posts.
 */
import type { IsolationRequest } from '../../shared/dispatch/request';
import { type Harness, releaseRequest, startHarness, until } from './harness';

const DOMAIN = 'contoso.local';

describe('release against the simulator', () => {
  let h: Harness;
  beforeAll(async () => {
    // MDE documents no order for its action list: this one lists the oldest first.
    h = await startHarness({
      simulator: {
        lifecycle: { pendingMs: 5, inProgressMs: 5, offlineTimeoutMs: 1_500, listOrder: 'oldest-first' },
      },
    });
  });
  afterAll(() => h.close());

  const release = async (machineId: string, forceReason?: string): Promise<IsolationRequest> => {
    const request = releaseRequest(h, { mdeDeviceId: machineId }, forceReason);
    await h.runtime.handle(request, { deliveryCount: 1 });
    await h.settle();
    return request;
  };
  const outcomesOf = (request: IsolationRequest) =>
    h.outcomes.filter((o) => o.requestId === request.requestId);

  it('releases a device isolated after more than a page of earlier isolations and releases', async () => {
    const machine = h.machineId(`ws-hr-02.${DOMAIN}`);
    // 11 isolate/release cycles, then an isolation: 23 actions, the newest an isolation.
    for (let i = 0; i < 23; i += 1) {
      const isolate = i % 2 === 0;
      await (isolate
        ? h.runtime.api.isolate(machine, `drill ${i}`, 'Full')
        : h.runtime.api.release(machine, `drill ${i}`));
      await until(
        () =>
          h.sim.machineState(machine)?.isolated === isolate &&
          !h.sim
            .actions()
            .some((a) => a.machineId === machine && (a.status === 'Pending' || a.status === 'InProgress')),
      );
    }
    // Posted with the app's identity, yet outside its records: only a forced release ends them.
    const request = await release(machine, 'drill over');
    expect(outcomesOf(request)).toEqual([expect.objectContaining({ outcome: 'succeeded' })]);
    expect(h.sim.machineState(machine)?.isolated).toBe(false);
  });

  it("refuses a release queued without the manual API's check when someone else isolated the device, unless forced", async () => {
    const machine = h.machineId(`ws-finance-01.${DOMAIN}`);
    // An analyst's isolation, made in the portal.
    const theirs = h.sim.portalAction(machine, 'Isolate', {
      requestor: 'analyst@contoso.com',
      comment: 'analyst: suspicious logon',
    });
    await until(() => h.sim.actions().some((a) => a.id === theirs.id && a.status === 'Succeeded'));
    const refused = await release(machine);
    expect(outcomesOf(refused)).toEqual([
      expect.objectContaining({
        outcome: 'escalated',
        rule: 'isolated-by-someone-else',
        reason: expect.stringContaining(`did (action ${theirs.id})`),
      }),
    ]);
    expect(h.actionsOn(machine, 'Unisolate')).toHaveLength(0);
    expect(h.sim.machineState(machine)?.isolated).toBe(true);

    const forced = await release(machine, 'approved by the SOC lead');
    expect(outcomesOf(forced)).toEqual([expect.objectContaining({ outcome: 'succeeded' })]);
    expect(h.sim.machineState(machine)?.isolated).toBe(false);
  });

  it('refuses a release when no action is on record (whose isolation is unknown), and posts it when a person forces it', async () => {
    const machine = h.machineId(`ws-isolated-09.${DOMAIN}`);
    expect(h.sim.machineState(machine)?.isolated).toBe(true);
    const refused = await release(machine);
    expect(outcomesOf(refused)).toEqual([
      expect.objectContaining({ outcome: 'escalated', rule: 'provenance-unknown' }),
    ]);
    expect(h.actionsOn(machine, 'Unisolate')).toHaveLength(0);
    const forced = await release(machine, 're-imaged, approved by the SOC lead');
    expect(h.actionsOn(machine, 'Unisolate')).toHaveLength(1);
    expect(outcomesOf(forced)).toEqual([expect.objectContaining({ outcome: 'succeeded' })]);
    expect(h.sim.machineState(machine)?.isolated).toBe(false);
  });

  it('still skips a release when the last finished action released the device', async () => {
    const machine = h.machineId(`ws-isolated-09.${DOMAIN}`);
    const request = await release(machine);
    expect(h.actionsOn(machine, 'Unisolate')).toHaveLength(1);
    expect(outcomesOf(request)).toEqual([
      expect.objectContaining({
        outcome: 'skipped',
        reason: expect.stringMatching(/not isolated: released by action/),
      }),
    ]);
  });
});
