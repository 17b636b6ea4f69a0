/**
 * MDE lifts every isolation seven days after it took effect, silently (docs/mde-api.md §7.6): the
 * simulator does so on its clock, which the app's runtime shares here. An alert after the lift is
 * decided like any alert on a device that is not isolated, and the register knows the end in advance.
 */
import { recordPlatformLifts } from '../../shared/dispatch/steps/lift';
import { DAY_MS } from '../../shared/kernel/clock';
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

  it('records let-lift at the lift: the register says lifted, an event is reported, nothing is posted', async () => {
    const machineId = h.machineId('ws-finance-01.contoso.local');
    expect(await handle(isolateRequest(h, { mdeDeviceId: machineId }))).toEqual([
      expect.objectContaining({ outcome: 'succeeded' }),
    ]);
    const record = await h.runtime.store.register.get(machineId);
    expect(record).toMatchObject({ state: 'isolated', expiresBy: 'platform-lift' });
    const events: Record<string, unknown>[] = [];
    const reporter = { note: (_level: string, event: Record<string, unknown>) => events.push(event) };

    const stateOf = async () => (await h.runtime.store.register.get(machineId))?.state;
    // The earlier cases' isolations are past their lift already: they are recorded on the first run.
    h.sim.advanceTime(7 * DAY_MS - HOUR);
    await recordPlatformLifts(h.runtime.store, reporter, h.sim.now());
    expect(await stateOf()).toBe('isolated');
    events.length = 0;
    h.sim.advanceTime(2 * HOUR);
    const posts = h.sim.calls().filter((c) => c.method === 'POST').length;
    expect(await recordPlatformLifts(h.runtime.store, reporter, h.sim.now())).toBe(1);

    expect(await h.runtime.store.register.get(machineId)).toMatchObject({
      state: 'lifted',
      expiresAt: null,
      requestId: record?.requestId,
    });
    expect(events).toEqual([
      expect.objectContaining({ event: 'isolation-lifted', machineId, liftedAt: record?.expiresAt }),
    ]);
    expect(h.sim.calls().filter((c) => c.method === 'POST')).toHaveLength(posts);
    // Once lifted, a later run finds nothing more to record.
    expect(await recordPlatformLifts(h.runtime.store, reporter, h.sim.now())).toBe(0);
  });
});
