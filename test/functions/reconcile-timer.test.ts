/**
 * The reconcile timer, registered with its schedule from the settings and called directly: it queues
 * one reconciliation, which the worker runs; GET /api/drift then serves its report.
 */
import { app, HttpRequest, InvocationContext, type Timer } from '@azure/functions';
import { drift } from '../../functions/drift';
import { reconcileTimer, registerReconcileTimer } from '../../functions/reconcile-timer';
import { DEFAULT_RECONCILE_SCHEDULE } from '../../shared/config';
import { installRuntime } from '../../shared/runtime';
import { type Harness, startHarness } from '../integration/harness';

describe('registration', () => {
  let timer: jest.SpyInstance;
  beforeEach(() => {
    timer = jest.spyOn(app, 'timer').mockImplementation(() => undefined);
    jest.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it('takes RECONCILE_SCHEDULE, every 15 minutes by default', () => {
    expect(registerReconcileTimer({})).toBe(true);
    expect(registerReconcileTimer({ RECONCILE_SCHEDULE: '0 */5 * * * *' })).toBe(true);
    expect(timer.mock.calls.map(([name, options]) => [name, options.schedule, options.runOnStartup])).toEqual(
      [
        ['reconcileTimer', DEFAULT_RECONCILE_SCHEDULE, false],
        ['reconcileTimer', '0 */5 * * * *', false],
      ],
    );
  });

  it.each(['*/15 * * * *', 'every 15 minutes', '0 */15 * * * * *'])(
    'is not registered with the schedule %p, and says which setting',
    (schedule) => {
      expect(registerReconcileTimer({ RECONCILE_SCHEDULE: schedule })).toBe(false);
      expect(timer).not.toHaveBeenCalled();
      expect(console.error).toHaveBeenCalledWith(expect.stringContaining('RECONCILE_SCHEDULE'));
    },
  );
});

describe('a run', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    installRuntime(h.runtime);
  });
  afterAll(() => h.close());

  const getDrift = () =>
    drift(
      new HttpRequest({ url: 'http://localhost/api/drift', method: 'GET' }),
      new InvocationContext({ logHandler: () => undefined }),
    );

  it('queues one reconciliation for the worker; GET /api/drift serves its report', async () => {
    expect(await getDrift()).toMatchObject({
      status: 404,
      jsonBody: { error: { code: 'no-reconciliation' } },
    });
    h.sim.resetCalls();
    await reconcileTimer(
      { isPastDue: false } as Timer,
      new InvocationContext({ logHandler: () => undefined }),
    );
    await h.settle();
    // The worker read MDE's actions once; the timer itself called nothing.
    expect(h.sim.calls().filter((c) => c.api === 'machineactions')).toHaveLength(1);
    expect(await getDrift()).toMatchObject({
      status: 200,
      jsonBody: { requestedBy: 'timer', driftCount: 0, drifts: [] },
    });
  });
});
