/**
 * Tracking's batched status read against the simulator: one paged list for every followed action,
 * counted in the simulator's own call log, and a poll that has to wait for the next one.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_RATE_LIMITS, loadConfig, parseRateLimits } from '../../shared/config';
import { BudgetShortError, Reservation } from '../../shared/dispatch/quota/reservation';
import { MdeThrottle } from '../../shared/dispatch/quota/throttle';
import type { IsolationRequest, TrackRequest } from '../../shared/dispatch/request';
import { ActionStatuses } from '../../shared/dispatch/steps/action-statuses';
import { ActionTracker, type TrackerDeps } from '../../shared/dispatch/steps/tracker';
import { DEFAULT_TIMING } from '../../shared/dispatch/timing';
import { systemClock } from '../../shared/kernel/clock';
import type { MdeApi } from '../../shared/mde/api';
import { createMdeClient } from '../../shared/mde/client';
import { createCredential } from '../../shared/mde/credential';
import type { RunningSimulator, SimulatorOptions } from '../../simulator';
import { handClock } from '../support/hand-clock';
import { startSimulatorWithIdentity } from '../support/simulator';
import { trackingRequest } from '../support/tracking-request';

const MACHINES = 5;
/** Long enough that every action is still Pending when read, and every list stays fresh. */
const LONG_MS = 10 * 60_000;

interface Setup {
  sim: RunningSimulator;
  api: MdeApi;
  throttle: MdeThrottle;
  /** The posted actions: id and when this app recorded it. */
  posted: { id: string; createdAt: number }[];
}

async function setUp(options: SimulatorOptions = {}): Promise<Setup> {
  const sim = await startSimulatorWithIdentity({
    fleet: { curated: false, generate: MACHINES, offlineShare: 0 },
    lifecycle: { pendingMs: LONG_MS, inProgressMs: LONG_MS },
    ...options,
  });
  const config = loadConfig({ MDE_API_URL: sim.baseUrl, MDE_REQUEST_TIMEOUT_MS: '5000' });
  const throttle = new MdeThrottle({ rateLimits: parseRateLimits(DEFAULT_RATE_LIMITS), headroom: 0 });
  const api = createMdeClient(config, {
    credential: createCredential(config),
    schedule: throttle.scheduler(),
  });
  const posted = [];
  for (const machine of sim.machines()) {
    const action = await api.isolate(machine.id, 'test isolation', 'Full');
    posted.push({ id: action.id, createdAt: Date.now() });
  }
  // A poll comes after its POST: a list read within the POST's millisecond would not count as
  // having been read after it.
  await sleep(5);
  return { sim, api, throttle, posted };
}

function statusesOver(setup: Setup, api: MdeApi = setup.api): ActionStatuses {
  return new ActionStatuses({
    api,
    throttle: setup.throttle,
    timing: { ...DEFAULT_TIMING, trackListMaxAgeMs: LONG_MS },
    clock: systemClock,
  });
}

/** The machineactions calls the simulator received after `from` calls in all. */
function machineactionsCalls(sim: RunningSimulator, from: number) {
  return sim
    .calls()
    .slice(from)
    .filter((c) => c.api === 'machineactions');
}

describe('the statuses of every followed action from one list', () => {
  let setup: Setup;
  beforeAll(async () => {
    setup = await setUp();
  });
  afterAll(() => setup.sim.close());

  it('answers N actions with one call', async () => {
    const statuses = statusesOver(setup);
    const from = setup.sim.calls().length;
    const answers = await Promise.all(setup.posted.map((p) => statuses.status(p.id, p.createdAt)));
    expect(answers.map((a) => (a.kind === 'listed' ? [a.action.id, a.action.status] : a.kind))).toEqual(
      setup.posted.map((p) => [p.id, 'Pending']),
    );
    const calls = machineactionsCalls(setup.sim, from);
    expect(calls).toHaveLength(1);
    expect(new URL(calls[0].path, 'http://x').searchParams.get('$filter')).toMatch(
      /^\(type eq 'Isolate' or type eq 'Unisolate'\) and creationDateTimeUtc ge /,
    );
    // A second round within the cycle reads nothing.
    await Promise.all(setup.posted.map((p) => statuses.status(p.id, p.createdAt)));
    expect(machineactionsCalls(setup.sim, from)).toHaveLength(1);
  });

  it('answers unlisted for an action the list leaves out, for the tracker to read by id', async () => {
    const [hidden, ...shown] = setup.posted;
    const lagging: MdeApi = Object.assign(Object.create(setup.api) as MdeApi, {
      listMachineActions: async (filter: Parameters<MdeApi['listMachineActions']>[0]) =>
        (await setup.api.listMachineActions(filter)).filter((a) => a.id !== hidden.id),
    });
    const statuses = statusesOver(setup, lagging);
    const answers = await Promise.all([hidden, ...shown].map((p) => statuses.status(p.id, p.createdAt)));
    expect(answers.map((a) => a.kind)).toEqual(['unlisted', ...shown.map(() => 'listed')]);
  });

  it('answers an action created after the latest list began when the next list is due, one list per cycle', async () => {
    const clock = handClock(Date.now());
    const cycleMs = 1_000;
    const statuses = new ActionStatuses({
      api: setup.api,
      throttle: setup.throttle,
      timing: { ...DEFAULT_TIMING, trackListMaxAgeMs: cycleMs },
      clock,
    });
    const [first] = setup.posted;
    const listedAt = clock.now();
    expect((await statuses.status(first.id, first.createdAt)).kind).toBe('listed');
    const from = setup.sim.calls().length;
    // As if MDE had created it now: the list read before cannot show it, and is still fresh.
    const createdAt = clock.now();
    clock.advance(1);
    expect(await statuses.status(first.id, createdAt)).toEqual({ kind: 'later', at: listedAt + cycleMs + 1 });
    expect(machineactionsCalls(setup.sim, from)).toHaveLength(0);
    // The list went stale: the next one is read, and shows it.
    clock.advance(cycleMs);
    expect((await statuses.status(first.id, createdAt)).kind).toBe('listed');
    expect(machineactionsCalls(setup.sim, from)).toHaveLength(1);
  });
});

describe('the budget of the status lists', () => {
  let setup: Setup;
  beforeAll(async () => {
    setup = await setUp();
  });
  afterAll(() => setup.sim.close());

  it('answers BudgetShortError, for the tracker to defer, when tracking has no machineactions slot left', async () => {
    // Two calls a minute, one of which tracking leaves to the checks of isolations still to come.
    const throttle = new MdeThrottle({ rateLimits: parseRateLimits('2/60s'), headroom: 0 });
    const statuses = new ActionStatuses({
      api: setup.api,
      throttle,
      timing: { ...DEFAULT_TIMING, trackListMaxAgeMs: 0 },
      clock: systemClock,
    });
    const [first] = setup.posted;
    expect((await statuses.status(first.id, first.createdAt)).kind).toBe('listed');
    await sleep(5);
    const error = await statuses.status(first.id, first.createdAt).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BudgetShortError);
    expect(throttle.reserve({ machineactions: 1, isolate: 1 }, 1)).toBeInstanceOf(Reservation);
    await throttle.stop();
  });
});

describe('a list longer than a page', () => {
  let setup: Setup;
  beforeAll(async () => {
    setup = await setUp({ listPageSize: 2 });
  });
  afterAll(() => setup.sim.close());

  it('follows @odata.nextLink to the last page, one call per page', async () => {
    const statuses = statusesOver(setup);
    const from = setup.sim.calls().length;
    const answers = await Promise.all(setup.posted.map((p) => statuses.status(p.id, p.createdAt)));
    expect(answers.every((a) => a.kind === 'listed')).toBe(true);
    const calls = machineactionsCalls(setup.sim, from);
    expect(calls.map((c) => new URL(c.path, 'http://x').searchParams.get('$skip'))).toEqual([null, '2', '4']);
  });
});

describe('a tracking poll of an action newer than the fresh list', () => {
  let setup: Setup;
  beforeAll(async () => {
    setup = await setUp();
  });
  afterAll(() => setup.sim.close());

  it('comes again when the next list is due, reading nothing and counting no poll', async () => {
    const clock = handClock(Date.now());
    const timing = { ...DEFAULT_TIMING, trackListMaxAgeMs: 1_000 };
    const statuses = new ActionStatuses({ api: setup.api, throttle: setup.throttle, timing, clock });
    const requeued: { next: IsolationRequest; at: number }[] = [];
    // The poll's only steps here: the status list and the requeue (the lifecycle's boundary).
    const lifecycle = {
      requeue: async (next: IsolationRequest, at: number) => {
        requeued.push({ next, at });
        return 'requeued';
      },
    };
    const tracker = new ActionTracker({ statuses, lifecycle, timing, clock } as unknown as TrackerDeps);
    const [first, second] = setup.posted;
    const listedAt = clock.now();
    expect((await statuses.status(first.id, first.createdAt)).kind).toBe('listed');
    const from = setup.sim.calls().length;
    const poll = trackRequest(second.id, clock.now());
    clock.advance(1);
    await tracker.poll(poll);
    expect(requeued).toEqual([
      { next: { ...poll, deferrals: poll.deferrals + 1 }, at: listedAt + timing.trackListMaxAgeMs + 1 },
    ]);
    expect(machineactionsCalls(setup.sim, from)).toHaveLength(0);
  });
});

/** A tracking request for `actionId`, posted at `postedAt` (epoch ms). */
function trackRequest(actionId: string, postedAt: number): TrackRequest {
  return trackingRequest({
    requestId: 'req-track',
    priority: 8,
    tracking: { actionId, machineId: 'a'.repeat(40), postedAt: new Date(postedAt).toISOString() },
  });
}
