/**
 * The simulator's platform lift, as MDE's (docs/mde-api.md §7.6): seven days after an isolation took
 * effect the device is no longer isolated, and nothing in the action list says so.
 */
import { DAY_MS } from '../../shared/kernel/clock';
import { type RunningSimulator, startSimulator } from '../../simulator/index';
import { callApi, fetchToken } from '../support/simulator-http';

const RUN_MS = 10;
/** Far more than the wall time a loaded machine adds to the simulator clock during a case. */
const HOUR = 3_600_000;

let sim: RunningSimulator;
let token: string;

const idOf = (name: string) => {
  const machine = sim.machines().find((m) => m.computerDnsName === name);
  if (!machine) throw new Error(`no seeded machine ${name}`);
  return machine.id;
};
const post = (name: string, verb: 'isolate' | 'unisolate') =>
  callApi(sim, token, 'POST', `/api/machines/${idOf(name)}/${verb}`, {
    Comment: 'test',
    ...(verb === 'isolate' && { IsolationType: 'Full' }),
  });
const isolated = (name: string) => sim.machineState(idOf(name))?.isolated;

beforeAll(async () => {
  sim = await startSimulator({ lifecycle: { pendingMs: RUN_MS / 2, inProgressMs: RUN_MS / 2 } });
  token = await fetchToken(sim);
});
afterAll(() => sim.close());

describe('the seven-day lift', () => {
  it('flips the device to not isolated seven days after the isolation succeeded, writing no action', async () => {
    const name = 'ws-hr-02.contoso.local';
    const isolate = await post(name, 'isolate');
    sim.advanceTime(RUN_MS);
    expect(isolated(name)).toBe(true);
    const before = sim.actions().filter((a) => a.machineId === idOf(name));

    sim.advanceTime(7 * DAY_MS - HOUR);
    expect(isolated(name)).toBe(true);
    sim.advanceTime(2 * HOUR);
    expect(isolated(name)).toBe(false);

    const after = sim.actions().filter((a) => a.machineId === idOf(name));
    expect(after).toEqual(before);
    expect(after.find((a) => a.id === isolate.body.id)?.status).toBe('Succeeded');
  });

  it('counts from the newest isolation that succeeded, and never lifts a released device again', async () => {
    const name = 'web1.contoso.local';
    await post(name, 'isolate');
    sim.advanceTime(RUN_MS + 6 * DAY_MS);
    // Isolating an isolated device, with nothing under way: MDE documents no answer; the simulator
    // accepts it as a new action (docs/mde-api.md §7.6), and the count starts again when it succeeds.
    const again = await post(name, 'isolate');
    expect(again.status).toBe(201);
    sim.advanceTime(RUN_MS + 2 * DAY_MS);
    expect(isolated(name)).toBe(true);
    sim.advanceTime(5 * DAY_MS);
    expect(isolated(name)).toBe(false);

    await post(name, 'isolate');
    sim.advanceTime(RUN_MS);
    await post(name, 'unisolate');
    sim.advanceTime(RUN_MS + 3 * HOUR);
    await post(name, 'isolate');
    sim.advanceTime(RUN_MS + 7 * DAY_MS - 2 * HOUR);
    // The first isolation's lift time has passed; the newest one's has not.
    expect(isolated(name)).toBe(true);
  });
});
