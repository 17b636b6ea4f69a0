/**
 * MDE's clock and this app's differ: MDE's timestamps are compared with MDE-side references, and a
 * device whose newest action is a release is never reported isolated.
 */
import { type Harness, isolateRequest, startHarness } from './harness';

const DOMAIN = 'contoso.local';
const analyst = { requestor: 'analyst@contoso.com', comment: 'false positive, released' };

describe("with MDE's clock ten minutes ahead of this app's", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      simulator: { lifecycle: { pendingMs: 5, inProgressMs: 5, offlineTimeoutMs: 1_500 } },
    });
    h.sim.advanceTime(10 * 60_000);
  });
  afterAll(() => h.close());

  const handle = async (machineId: string) => {
    const request = isolateRequest(h, { mdeDeviceId: machineId });
    await h.runtime.handle(request, { deliveryCount: 1 });
    await h.settle();
    return h.outcomes.filter((o) => o.requestId === request.requestId);
  };

  it("does not take the app's earlier isolation for the answer to an alert that came after an analyst's release", async () => {
    const machineId = h.machineId(`ws-hr-02.${DOMAIN}`);
    expect(await handle(machineId)).toEqual([expect.objectContaining({ outcome: 'succeeded' })]);
    const released = h.sim.portalAction(machineId, 'Unisolate', analyst);
    // The release runs its course on MDE's clock.
    h.sim.advanceTime(20);
    expect(h.sim.actions().find((a) => a.id === released.id)?.status).toBe('Succeeded');
    expect(h.sim.machineState(machineId)?.isolated).toBe(false);

    // MDE stamped both actions after this alert's receipt by this app's clock; the ledger says its
    // isolation came before.
    const outcomes = await handle(machineId);
    expect(outcomes).toEqual([
      expect.objectContaining({
        outcome: 'escalated',
        actionId: released.id,
        reason: expect.stringMatching(
          /^a release \(action \S+ by analyst@contoso\.com, .*\) was requested after/,
        ),
      }),
    ]);
    expect(h.actionsOn(machineId, 'Isolate')).toHaveLength(1);
    expect(h.sim.machineState(machineId)?.isolated).toBe(false);
  });
});
