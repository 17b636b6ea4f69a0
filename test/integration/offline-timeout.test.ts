/**
 * An isolation of a device that stays offline through MDE's three days ends TimeOut, never in force;
 * the rule's `onTimeout` says what follows: nothing (timed-out), a person (escalate), or the isolation
 * posted again for when the device is next seen (retry-when-seen, twice at most).
 */
import { DAY_MS } from '../../shared/kernel/clock';
import { type Harness, isolateRequest, startHarness, TEST_POLICY, until } from './harness';

const OFFLINE_MS = 3 * DAY_MS;

function policyWith(onTimeout?: 'escalate' | 'retry-when-seen') {
  return {
    ...TEST_POLICY,
    rules: [
      {
        name: 'isolate-high',
        minSeverity: 'high',
        action: 'isolate',
        isolationType: 'Full',
        ...(onTimeout && { onTimeout }),
      },
    ],
  };
}

async function harnessWith(onTimeout?: 'escalate' | 'retry-when-seen') {
  // MDE's three days, on the simulator's clock the test moves.
  return startHarness({
    policy: policyWith(onTimeout),
    simulator: { lifecycle: { pendingMs: 5, inProgressMs: 5, offlineTimeoutMs: OFFLINE_MS } },
  });
}

let added = 0;
function offlineDevice(h: Harness): string {
  added += 1;
  return h.sim.addMachine({
    name: `laptop-off-${added}.contoso.local`,
    osPlatform: 'Windows11',
    traits: { offline: true },
  }).id;
}

/** Handles the request, lets MDE's three days pass once its isolate is posted, and waits for its outcome. */
async function isolateOffline(h: Harness, machineId: string) {
  const request = isolateRequest(h, { mdeDeviceId: machineId });
  await h.runtime.handle(request, { deliveryCount: 1 });
  await until(() => h.actionsOn(machineId, 'Isolate').length > 0, 'the isolate POST');
  h.sim.advanceTime(OFFLINE_MS + 60_000);
  await untilOutcome(h, request.requestId);
  return request;
}

function untilOutcome(h: Harness, requestId: string): Promise<void> {
  return until(() => h.outcomes.some((o) => o.requestId === requestId), `the outcome of ${requestId}`);
}

describe('without onTimeout', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harnessWith();
  });
  afterAll(() => h.close());

  it('ends timed-out, the register says timed-out, nothing is posted again', async () => {
    const machine = offlineDevice(h);
    const request = await isolateOffline(h, machine);
    expect(h.outcomes.filter((o) => o.machineId === machine)).toEqual([
      expect.objectContaining({
        requestId: request.requestId,
        outcome: 'timed-out',
        actionStatus: 'TimeOut',
      }),
    ]);
    expect((await h.runtime.store.register.get(machine))?.state).toBe('timed-out');
    expect(h.actionsOn(machine, 'Isolate')).toHaveLength(1);
  });
});

describe('onTimeout: escalate', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harnessWith('escalate');
  });
  afterAll(() => h.close());

  it('ends escalated for a person, with why', async () => {
    const machine = offlineDevice(h);
    await isolateOffline(h, machine);
    expect(h.outcomes.filter((o) => o.machineId === machine)).toEqual([
      expect.objectContaining({
        outcome: 'escalated',
        rule: 'offline-timeout',
        reason: expect.stringMatching(
          /stayed offline .* ended TimeOut; rule isolate-high asks a person to decide/,
        ),
      }),
    ]);
    expect((await h.runtime.store.register.get(machine))?.state).toBe('timed-out');
  });
});

describe('onTimeout: retry-when-seen', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harnessWith('retry-when-seen');
  });
  afterAll(() => h.close());

  it('posts the isolation again, which takes effect once the device is back', async () => {
    const machine = offlineDevice(h);
    const request = await isolateOffline(h, machine);
    expect(h.outcomes.filter((o) => o.requestId === request.requestId)).toEqual([
      expect.objectContaining({
        outcome: 'timed-out',
        reason: expect.stringContaining('posted again for when the device is next seen (retry 1 of 2'),
      }),
    ]);
    await until(() => h.actionsOn(machine, 'Isolate').length === 2, 'the isolate posted again');
    const [first, again] = h
      .actionsOn(machine, 'Isolate')
      .sort((a, b) => String(a.creationDateTimeUtc).localeCompare(String(b.creationDateTimeUtc)));
    expect([first?.status, again?.status]).toEqual(['TimeOut', 'Pending']);
    h.sim.setMachine(machine, { traits: { offline: false } });
    await until(() => h.sim.machineState(machine)?.isolated === true, 'the device isolated');
    await h.settle();
    expect(h.outcomes.filter((o) => o.requestId === `${request.requestId}-t1`)).toEqual([
      expect.objectContaining({ outcome: 'succeeded', actionId: again?.id }),
    ]);
    expect((await h.runtime.store.register.get(machine))?.state).toBe('isolated');
  });

  it('escalates after two retries the device never came back for', async () => {
    const machine = offlineDevice(h);
    const request = await isolateOffline(h, machine);
    for (let retry = 1; retry <= 2; retry += 1) {
      await until(() => h.actionsOn(machine, 'Isolate').length === retry + 1, `retry ${retry} posted`);
      h.sim.advanceTime(OFFLINE_MS + 60_000);
      await untilOutcome(h, `${request.requestId}-t${retry}`);
    }
    await h.settle();
    expect(h.outcomes.filter((o) => o.machineId === machine).map((o) => [o.requestId, o.outcome])).toEqual([
      [request.requestId, 'timed-out'],
      [`${request.requestId}-t1`, 'timed-out'],
      [`${request.requestId}-t2`, 'escalated'],
    ]);
    expect(h.actionsOn(machine, 'Isolate')).toHaveLength(3);
  });
});
