/**
 * Time-boxed isolation (`isolateFor`): released through the normal release path when the box ends,
 * only while the isolation is still this app's and the newest action on the machine. The runtime
 * shares the simulator's clock, so moving the simulator hours ahead brings the scheduled release due.
 */
import type { OutcomeRecord } from '../../shared/dispatch/outcome';
import { asOfFor } from '../../shared/dispatch/steps/expiry';
import { renewalRequestId } from '../../shared/dispatch/steps/renewal';
import { releaseDueTimeBoxes, timeBoxRequestId } from '../../shared/dispatch/steps/time-box';
import { compressTiming } from '../../shared/dispatch/timing';
import { extendIsolation } from '../../shared/manual/extend';
import { createRuntime } from '../../shared/runtime';
import { mdeAlert } from '../support/alert-payloads';
import { recordingReporter } from '../support/reporter';
import { type Harness, RATE_LIMITS, startHarness, TEST_POLICY, until } from './harness';

const HOUR = 3_600_000;
const RUN = { pendingMs: 5, inProgressMs: 5, offlineTimeoutMs: 1_500 };
const BOXED_POLICY = {
  ...TEST_POLICY,
  rules: [
    { name: 'isolate-high', minSeverity: 'high', action: 'isolate', isolationType: 'Full', isolateFor: '8h' },
  ],
};
const analyst = { requestor: 'analyst@contoso.com', comment: 'my call' };

describe('isolateFor in a policy rule', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      simulator: { lifecycle: RUN },
      policy: BOXED_POLICY,
      clock: (sim) => ({ now: () => sim.now() }),
    });
  });
  afterAll(() => h.close());

  const outcomeOf = async (requestId: string, what: string): Promise<OutcomeRecord> => {
    await until(() => h.outcomes.some((o) => o.requestId === requestId), what);
    return h.outcomes.find((o) => o.requestId === requestId) as OutcomeRecord;
  };

  /** Isolates `name` through intake; answers the isolate action and when it took effect. */
  const isolateBoxed = async (name: string) => {
    const machineId = h.machineId(name);
    const intake = await h.submit(mdeAlert({ machineId }));
    const [accepted] = intake.alerts;
    if (accepted?.status !== 'accepted') throw new Error('alert refused');
    const requestId = accepted.requests[0]?.requestId as string;
    expect(await outcomeOf(requestId, 'the isolation')).toMatchObject({ outcome: 'succeeded' });
    const [isolation] = h.actionsOn(machineId, 'Isolate');
    return {
      machineId,
      actionId: String(isolation.id),
      tookEffect: Date.parse(String(isolation.lastUpdateDateTimeUtc)),
    };
  };

  /** Moves both clocks and lets the in-process queue deliver what came due. */
  const advance = (ms: number) => {
    h.sim.advanceTime(ms);
    h.runtime.inline?.wake();
  };

  it('records the box as the end, and releases the device when it ends', async () => {
    const { machineId, actionId, tookEffect } = await isolateBoxed('ws-hr-02.contoso.local');
    expect((await h.runtime.store.register.get(machineId))?.expiresAt).toBe(
      new Date(tookEffect + 8 * HOUR).toISOString(),
    );

    advance(7 * HOUR);
    expect(h.outcomes.some((o) => o.requestId === timeBoxRequestId(actionId))).toBe(false);
    advance(2 * HOUR);
    const release = await outcomeOf(timeBoxRequestId(actionId), 'the time-box release');
    expect(release).toMatchObject({ outcome: 'succeeded', machineId });
    expect(h.sim.machineState(machineId)?.isolated).toBe(false);
    expect(await h.runtime.store.register.get(machineId)).toMatchObject({
      state: 'released',
      expiresAt: null,
    });
  });

  it('does not release when someone released and isolated the device again in between', async () => {
    const { machineId, actionId } = await isolateBoxed('web1.contoso.local');
    h.sim.portalAction(machineId, 'Unisolate', analyst);
    advance(HOUR);
    const theirs = h.sim.portalAction(machineId, 'Isolate', analyst);
    advance(8 * HOUR);
    const release = await outcomeOf(timeBoxRequestId(actionId), 'the time-box release');
    expect(release).toMatchObject({
      outcome: 'skipped',
      reason: expect.stringContaining(`analyst@contoso.com isolated the device since (action ${theirs.id})`),
    });
    expect(h.actionsOn(machineId, 'Unisolate').filter((a) => a.requestor !== analyst.requestor)).toEqual([]);
    expect(h.sim.machineState(machineId)?.isolated).toBe(true);
  });

  it('waits for an extended end, records who extended it and why, and refuses to pass the lift', async () => {
    const { machineId, actionId, tookEffect } = await isolateBoxed('ws-finance-01.contoso.local');
    const order = { machineId, reason: 'forensics still running', by: 'analyst@contoso.com' };
    const extended = await extendIsolation(h.runtime, { ...order, byMs: 4 * HOUR }, asOfFor(h.runtime));
    const newEnd = new Date(tookEffect + 12 * HOUR).toISOString();
    expect(extended).toMatchObject({ kind: 'extended', expiresAt: newEnd });
    const record = await h.runtime.store.register.get(machineId);
    expect(record).toMatchObject({ expiresAt: newEnd, expiresBy: 'time-box' });
    expect(record?.history[0].reason).toBe(
      `time box extended to ${newEnd} by analyst@contoso.com: forensics still running`,
    );
    const tooFar = await extendIsolation(h.runtime, { ...order, byMs: 7 * 24 * HOUR }, asOfFor(h.runtime));
    expect(tooFar).toMatchObject({
      kind: 'refused',
      answer: { status: 422, body: { error: { code: 'past-platform-lift' } } },
    });

    advance(9 * HOUR);
    // The release came due at the first end and waits for the new one.
    await until(() => h.notes.some((n) => n.requestId === timeBoxRequestId(actionId)), 'the deferral');
    expect(h.outcomes.some((o) => o.requestId === timeBoxRequestId(actionId))).toBe(false);
    expect(h.sim.machineState(machineId)?.isolated).toBe(true);
    advance(4 * HOUR);
    expect(await outcomeOf(timeBoxRequestId(actionId), 'the time-box release')).toMatchObject({
      outcome: 'succeeded',
    });
    expect(h.sim.machineState(machineId)?.isolated).toBe(false);
  });
});

describe('a time-box release whose scheduled message was lost', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      simulator: { lifecycle: RUN },
      policy: BOXED_POLICY,
      clock: (sim) => ({ now: () => sim.now() }),
    });
  });
  afterAll(() => h.close());

  it("is sent again by the reconciler's net, releaseDueTimeBoxes, and carried out like the scheduled one", async () => {
    // Another process on the app's store (the CLI, inline) isolates for 8 hours and ends: its
    // in-process queue, and the release scheduled in it, end with it.
    const { reporter, outcomes } = recordingReporter();
    const cli = createRuntime({
      env: {
        ...h.sim.env(),
        MDE_RATE_LIMITS: RATE_LIMITS,
        MDE_RATE_HEADROOM: '0',
        MDE_REQUEST_TIMEOUT_MS: '10000',
      },
      policy: h.runtime.policy,
      reporter,
      store: h.runtime.store,
      timing: compressTiming(0.001),
      clock: { now: () => h.sim.now() },
    });
    const machineId = h.machineId('ws-hr-02.contoso.local');
    const request = await cli.submitManual({
      action: 'isolate',
      device: { mdeDeviceId: machineId },
      comment: 'IR-7: contain for the night',
      isolationType: 'Full',
      requestedBy: 'analyst@contoso.com',
      isolateForMs: 8 * HOUR,
    });
    await until(() => outcomes.some((o) => o.requestId === request.requestId), 'the isolation');
    expect(outcomes.find((o) => o.requestId === request.requestId)).toMatchObject({ outcome: 'succeeded' });
    await cli.close();
    const [isolation] = h.actionsOn(machineId, 'Isolate');

    h.sim.advanceTime(7 * HOUR);
    const queue = h.runtime.inline as NonNullable<typeof h.runtime.inline>;
    expect(await releaseDueTimeBoxes(h.runtime.store, queue, h.sim.now())).toBe(0);
    h.sim.advanceTime(2 * HOUR);
    expect(await releaseDueTimeBoxes(h.runtime.store, queue, h.sim.now())).toBe(1);
    const releaseId = timeBoxRequestId(String(isolation.id));
    await until(() => h.outcomes.some((o) => o.requestId === releaseId), 'the time-box release');
    expect(h.outcomes.find((o) => o.requestId === releaseId)).toMatchObject({
      outcome: 'succeeded',
      machineId,
    });
    expect(h.sim.machineState(machineId)?.isolated).toBe(false);
    expect(await releaseDueTimeBoxes(h.runtime.store, queue, h.sim.now())).toBe(0);
  });
});

describe('onLift: renew in a policy rule', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      simulator: { lifecycle: RUN },
      policy: {
        ...TEST_POLICY,
        rules: [{ name: 'isolate-high', minSeverity: 'high', action: 'isolate', onLift: 'renew' }],
      },
      clock: (sim) => ({ now: () => sim.now() }),
    });
  });
  afterAll(() => h.close());

  it('posts a new isolation at the seven-day lift, saying it is a renewal, and renews that one in turn', async () => {
    const machineId = h.machineId('ws-hr-02.contoso.local');
    await h.submit(mdeAlert({ machineId }));
    await until(
      () => h.outcomes.some((o) => o.machineId === machineId && o.outcome === 'succeeded'),
      'the isolation',
    );
    const [first] = h.actionsOn(machineId, 'Isolate');

    h.sim.advanceTime(7 * 24 * HOUR - HOUR);
    h.runtime.inline?.wake();
    expect(h.actionsOn(machineId, 'Isolate')).toHaveLength(1);
    h.sim.advanceTime(2 * HOUR);
    h.runtime.inline?.wake();
    const renewalId = renewalRequestId(String(first.id));
    await until(() => h.outcomes.some((o) => o.requestId === renewalId), 'the renewal');
    expect(h.outcomes.find((o) => o.requestId === renewalId)).toMatchObject({ outcome: 'succeeded' });
    const isolations = h.actionsOn(machineId, 'Isolate');
    expect(isolations).toHaveLength(2);
    const renewal = isolations.find((a) => a.id !== first.id);
    expect(renewal?.requestorComment).toContain(`[renewal at the platform lift of isolation ${first.id}]`);
    expect(h.sim.machineState(machineId)?.isolated).toBe(true);
    expect(h.runtime.inline?.pending()).toBe(1);
  });
});
