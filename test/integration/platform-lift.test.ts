/**
 * MDE lifts every isolation seven days after it took effect, silently (docs/mde-api.md §7.6): the
 * simulator does so on its clock, which the app's runtime shares here. An alert after the lift is
 * decided like any alert on a device that is not isolated, and the register knows the end in advance.
 */
import { DAY_MS } from '../../shared/kernel/clock';
import { parseReport } from '../../shared/reconcile/report';
import { type Harness, isolateRequest, releaseRequest, startHarness } from './harness';

const HOUR = 3_600_000;
const RUN = { pendingMs: 5, inProgressMs: 5, offlineTimeoutMs: 1_500 };

describe('the seven-day platform lift', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ simulator: { lifecycle: RUN }, clock: (sim) => ({ now: () => sim.now() }) });
  });
  afterAll(() => h.close());

  const handle = async (request: ReturnType<typeof isolateRequest>) => {
    await h.runtime.handle(request, { deliveryCount: 1 });
    await h.settle();
    return h.outcomes.filter((o) => o.requestId === request.requestId);
  };

  it('posts an isolation for an alert on day 8, where the isolation of day 1 was lifted', async () => {
    const machineId = h.machineId('ws-hr-02.contoso.local');
    expect(await handle(isolateRequest(h, { mdeDeviceId: machineId }))).toEqual([
      expect.objectContaining({ outcome: 'succeeded' }),
    ]);
    const [first] = h.actionsOn(machineId, 'Isolate');
    const tookEffect = Date.parse(String(first.lastUpdateDateTimeUtc));
    expect((await h.runtime.store.register.get(machineId))?.expiresAt).toBe(
      new Date(tookEffect + 7 * DAY_MS).toISOString(),
    );

    // Day 6: still in force, the alert is skipped.
    h.sim.advanceTime(6 * DAY_MS);
    expect(await handle(isolateRequest(h, { mdeDeviceId: machineId }))).toEqual([
      expect.objectContaining({ outcome: 'skipped', reason: expect.stringMatching(/already isolated/) }),
    ]);

    // Day 8: MDE lifted it without a word; the alert isolates the device again.
    h.sim.advanceTime(2 * DAY_MS);
    expect(h.sim.machineState(machineId)?.isolated).toBe(false);
    expect(await handle(isolateRequest(h, { mdeDeviceId: machineId }))).toEqual([
      expect.objectContaining({ outcome: 'succeeded' }),
    ]);
    expect(h.actionsOn(machineId, 'Isolate')).toHaveLength(2);
    expect(h.sim.machineState(machineId)?.isolated).toBe(true);
  });

  it('skips a release after the lift, saying the platform lifted the isolation', async () => {
    const machineId = h.machineId('web1.contoso.local');
    expect(await handle(isolateRequest(h, { mdeDeviceId: machineId }))).toEqual([
      expect.objectContaining({ outcome: 'succeeded' }),
    ]);
    h.sim.advanceTime(7 * DAY_MS + HOUR);
    expect(await handle(releaseRequest(h, { mdeDeviceId: machineId }))).toEqual([
      expect.objectContaining({
        outcome: 'skipped',
        reason: expect.stringMatching(/^not isolated: isolation \S+ was lifted by the platform at /),
      }),
    ]);
    expect(h.actionsOn(machineId, 'Unisolate')).toHaveLength(0);
  });

  it('records let-lift at the lift by reconciliation: the register says lifted, an event is reported, nothing is posted', async () => {
    const machineId = h.machineId('ws-finance-01.contoso.local');
    expect(await handle(isolateRequest(h, { mdeDeviceId: machineId }))).toEqual([
      expect.objectContaining({ outcome: 'succeeded' }),
    ]);
    const record = await h.runtime.store.register.get(machineId);
    expect(record).toMatchObject({ state: 'isolated', expiresBy: 'platform-lift', confirmedAt: null });
    const reconcile = async () => {
      h.notes.length = 0;
      await h.runtime.requestReconciliation('timer');
      await h.settle();
      return (await h.runtime.store.register.get(machineId)) ?? undefined;
    };

    // An hour before the lift: MDE still lists the isolation in force, and the run confirms it.
    h.sim.advanceTime(7 * DAY_MS - HOUR);
    expect(await reconcile()).toMatchObject({
      state: 'isolated',
      confirmedAt: parseReport(await h.runtime.store.drift.latest())?.startedAt,
    });

    h.sim.advanceTime(2 * HOUR);
    const posts = h.sim.calls().filter((c) => c.method === 'POST').length;
    expect(await reconcile()).toMatchObject({
      state: 'lifted',
      expiresAt: null,
      requestId: record?.requestId,
    });
    const [isolation] = h.actionsOn(machineId, 'Isolate');
    expect(h.notes.filter((n) => n.event === 'isolation-drift' && n.machineId === machineId)).toEqual([
      expect.objectContaining({ kind: 'lifted-by-platform', actionId: isolation.id, correctedTo: 'lifted' }),
    ]);
    expect(h.sim.calls().filter((c) => c.method === 'POST')).toHaveLength(posts);
    // Once lifted, a later run finds nothing more to record.
    expect(await reconcile()).toMatchObject({ state: 'lifted' });
    expect(h.notes.filter((n) => n.event === 'isolation-drift' && n.machineId === machineId)).toEqual([]);
  });
});
