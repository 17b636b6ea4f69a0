/**
 * Releasing decides from the machine's whole recent history, whatever order MDE lists it in, and
 * posts when nothing is on record (MDE decides) rather than assume the device is not isolated.
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

  const release = async (machineId: string): Promise<IsolationRequest> => {
    const request = releaseRequest(h, { mdeDeviceId: machineId });
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
    const request = await release(machine);
    expect(outcomesOf(request)).toEqual([expect.objectContaining({ outcome: 'succeeded' })]);
    expect(h.sim.machineState(machine)?.isolated).toBe(false);
  });

  it('posts a release a person asked for when no action is on record, and MDE releases the device', async () => {
    const machine = h.machineId(`ws-isolated-09.${DOMAIN}`);
    expect(h.sim.machineState(machine)?.isolated).toBe(true);
    const request = await release(machine);
    expect(h.actionsOn(machine, 'Unisolate')).toHaveLength(1);
    expect(outcomesOf(request)).toEqual([expect.objectContaining({ outcome: 'succeeded' })]);
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
