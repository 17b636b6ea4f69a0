/**
 * The worker's safety guards on the whole pipeline: the mode a request was decided in, what counts as
 * a manual request, and one machine's requests handled at the same time (host.json lets the worker take
 * several messages at once; the per-machine lock and the process-wide record of posted actions must
 * keep that as safe as one at a time).
 */

import type { IsolationRequest } from '../../shared/dispatch/request';
import { breakerLimits } from '../../shared/dispatch/steps/blast-radius';
import { DEFAULT_TIMING } from '../../shared/dispatch/timing';
import type { MdeApi } from '../../shared/mde/api';
import { NotFoundError, TransientError } from '../../shared/mde/errors';
import { admitIsolation } from '../support/breaker';
import {
  endHeldActions,
  expectOneCarriesTheOther,
  type Harness,
  HELD_ACTIONS,
  isolateRequest,
  laggingActionList,
  postsOn,
  releaseRequest,
  startHarness,
  TEST_POLICY,
  until,
} from './harness';

const DOMAIN = 'contoso.local';
const BREAKER_LIMIT = 3;
const lag = laggingActionList();
/**
 * How MDE answers tracking's reads of the actions of a machine: the list of followed actions (which
 * names no machine) leaves them out, so each poll reads GET machineactions/{id}, which answers
 * `forget` (404, so tracking ends in error) or `flaky` (two failures, then an answer, over and over).
 */
const tracking = new Map<string, 'forget' | 'flaky'>();
let flakyPolls = 0;

function unreliableTracking(api: MdeApi): MdeApi {
  const details = { operation: 'getMachineAction', api: 'machineactions' as const };
  return Object.assign(Object.create(api) as MdeApi, {
    listMachineActions: async (filter: Parameters<MdeApi['listMachineActions']>[0]) => {
      const listed = await api.listMachineActions(filter);
      return filter.machineId === undefined ? listed.filter((a) => !tracking.has(a.machineId)) : listed;
    },
    getMachineAction: async (id: string) => {
      const action = await api.getMachineAction(id);
      const behaviour = tracking.get(action.machineId);
      if (behaviour === 'forget') throw new NotFoundError('404', { ...details, status: 404 });
      flakyPolls += 1;
      if (behaviour === 'flaky' && flakyPolls % 3 !== 0)
        throw new TransientError('503', { ...details, status: 503 }, 'server-error', false);
      return action;
    },
  });
}

describe('worker guards', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      decorateApi: (api) => unreliableTracking(lag.decorate(api)),
      policy: { ...TEST_POLICY, blastRadius: { ...TEST_POLICY.blastRadius, maxIsolations: BREAKER_LIMIT } },
    });
  });
  afterAll(() => h.close());
  beforeEach(() => h.runtime.store.breaker.reset('integration test', 'each case starts closed'));

  const handle = (request: IsolationRequest, on: Harness = h) =>
    on.runtime.handle(structuredClone(request), { deliveryCount: 1 });
  const outcomesIn = (on: Harness, ...requests: IsolationRequest[]) =>
    requests.map((r) => on.outcomes.filter((o) => o.requestId === r.requestId));
  const outcomesOf = (...requests: IsolationRequest[]) => outcomesIn(h, ...requests);
  /** Automatic isolations admitted elsewhere fill the breaker's window. */
  const fillBreaker = async () => {
    for (let i = 0; i < BREAKER_LIMIT; i += 1)
      await admitIsolation(h.runtime.store, breakerLimits(h.runtime.policy), { manual: false });
  };

  it('never posts a request decided in dry-run, even after enforce was switched on while it waited', async () => {
    const machine = h.machineId(`ws-finance-01.${DOMAIN}`);
    // Intake ran in dry-run; the policy now enforces (the operator changed ISOLATION_MODE).
    const queuedInDryRun: IsolationRequest = {
      ...isolateRequest(h, { mdeDeviceId: machine }),
      mode: 'dry-run',
    };
    expect(h.runtime.policy.mode).toBe('enforce');
    await handle(queuedInDryRun);
    await h.settle();
    expect(postsOn(h, machine)).toEqual([]);
    expect(outcomesOf(queuedInDryRun)).toEqual([
      [
        expect.objectContaining({
          outcome: 'dry-run',
          reason: expect.stringMatching(/^dry-run: would isolate ws-finance-01.*queued in dry-run mode/),
        }),
      ],
    ]);
  });

  it('does not let a queued dry-run request swallow an enforce request for the same device', async () => {
    const machine = h.machineId(`ws-finance-01.${DOMAIN}`);
    const alertOn = (alertId: string) => ({ ...isolateRequest(h, { mdeDeviceId: machine }).alert, alertId });
    const dryRunAlert = alertOn('before-enforce');
    const decided = h.runtime.policy.decideAlert(dryRunAlert);
    // Intake in dry-run queued the first alert; enforce was switched on before the second came.
    const [queued] = await h.runtime.submit(
      dryRunAlert,
      decided.map((d) => ({ ...d, mode: 'dry-run' as const })),
    );
    const enforceAlert = alertOn('after-enforce');
    const [enforced] = await h.runtime.submit(enforceAlert, h.runtime.policy.decideAlert(enforceAlert));
    expect([queued.duplicate, enforced.duplicate]).toEqual([false, false]);
    await h.settle();
    expect(h.outcomes.find((o) => o.requestId === queued.requestId)?.outcome).toBe('dry-run');
    expect(h.outcomes.find((o) => o.requestId === enforced.requestId)?.outcome).toBe('succeeded');
    expect(h.sim.machineState(machine)?.isolated).toBe(true);
  });

  it('treats an alert from the manual source as a person asking, whatever its requester field says', async () => {
    const machine = h.machineId(`mac-design-01.${DOMAIN}`);
    await fillBreaker();
    const manual = isolateRequest(
      h,
      { hostname: 'mac-design-01' },
      { source: 'manual', manual: { comment: 'IR-5 containment' } },
    );
    // As an older intake wrote a manual alert that named nobody.
    await handle({ ...manual, requestedBy: { kind: 'rule', name: 'manual' } });
    await h.settle();
    expect(outcomesOf(manual)).toEqual([[expect.objectContaining({ outcome: 'succeeded', rule: 'manual' })]]);
    expect(h.sim.machineState(machine)?.isolated).toBe(true);
  });

  it('holds an automatic isolation at a full breaker even when its requester claims to be a person', async () => {
    const machine = h.machineId('wks-lab');
    await fillBreaker();
    const automatic = isolateRequest(h, { mdeDeviceId: machine });
    await handle({ ...automatic, requestedBy: { kind: 'caller', name: 'someone@contoso.com' } });
    await h.settle();
    expect(postsOn(h, machine)).toEqual([]);
    expect(outcomesOf(automatic)).toEqual([
      [expect.objectContaining({ outcome: 'escalated', rule: 'blast-radius' })],
    ]);
  });

  it('never posts an isolate while its own release is pending, even when MDE has not listed the release yet', async () => {
    const machine = h.machineId(`ws-hr-02.${DOMAIN}`);
    await h.runtime.api.isolate(machine, 'isolated earlier', 'Full');
    await until(() => h.sim.machineState(machine)?.isolated === true);
    // Offline: the release stays pending. Forced: the isolation was made outside this app's records.
    h.sim.setMachine(machine, { traits: { offline: true } });
    const release = releaseRequest(h, { mdeDeviceId: machine }, 'isolated outside this app');
    await handle(release);
    lag.lagOnce(machine);
    const isolate = isolateRequest(h, { mdeDeviceId: machine });
    await handle(isolate);
    await h.settle();
    // Only the earlier isolate: this one was not even sent for MDE to refuse.
    expect(postsOn(h, machine, 'isolate')).toHaveLength(1);
    expect(h.actionsOn(machine, 'Unisolate')).toHaveLength(1);
    expect(outcomesOf(isolate)).toEqual([
      [
        expect.objectContaining({
          outcome: 'escalated',
          rule: 'action-conflict',
          reason: expect.stringMatching(/a release/),
        }),
      ],
    ]);
  });

  it('isolates once when two names of one machine are handled at the same time', async () => {
    // Its own simulator, whose action stays under way until both requests are decided, as it does in
    // MDE for seconds: on a busy machine a simulated one could end first, and the second request would
    // adopt it from MDE's list.
    const held = await startHarness({ simulator: HELD_ACTIONS });
    try {
      const machine = held.machineId(`web10.${DOMAIN}`);
      const byId = isolateRequest(held, { mdeDeviceId: machine });
      const byName = isolateRequest(held, { fqdn: `web10.${DOMAIN}` });
      await Promise.all([handle(byId, held), handle(byName, held)]);
      endHeldActions(held);
      await held.settle();
      expect(held.actionsOn(machine, 'Isolate')).toHaveLength(1);
      expect(postsOn(held, machine, 'isolate')).toHaveLength(1);
      const [first, second] = outcomesIn(held, byId, byName);
      expect([first.length, second.length]).toEqual([1, 1]);
      expectOneCarriesTheOther(first[0], second[0]);
    } finally {
      await held.close();
    }
  });

  it('never posts both an isolate and a release for one machine handled at the same time', async () => {
    const machine = h.machineId(`laptop-offline-07.${DOMAIN}`);
    const isolate = isolateRequest(h, { mdeDeviceId: machine });
    const release = releaseRequest(h, { mdeDeviceId: machine });
    await Promise.all([handle(isolate), handle(release)]);
    await h.settle();
    expect(h.actionsOn(machine, 'Unisolate')).toEqual([]);
    expect(h.actionsOn(machine, 'Isolate').length).toBeLessThanOrEqual(1);
    expect(outcomesOf(isolate, release).map((records) => records.length)).toEqual([1, 1]);
  });

  it('never posts an isolate while a release of the same machine, handled at the same time, is pending', async () => {
    const machine = h.machineId(`web1.${DOMAIN}`);
    await h.runtime.api.isolate(machine, 'isolated earlier', 'Full');
    await until(() => h.sim.machineState(machine)?.isolated === true);
    h.sim.setMachine(machine, { traits: { offline: true } });
    const release = releaseRequest(h, { mdeDeviceId: machine }, 'isolated outside this app');
    const isolate = isolateRequest(h, { mdeDeviceId: machine });
    await Promise.all([handle(release), handle(isolate)]);
    await h.settle();
    expect(h.actionsOn(machine, 'Isolate')).toHaveLength(1);
    expect(h.actionsOn(machine, 'Unisolate')).toHaveLength(1);
    expect(outcomesOf(isolate)).toEqual([
      [expect.objectContaining({ outcome: expect.stringMatching(/skipped|escalated/) })],
    ]);
  });

  it('asks MDE again for a machine whose tracking ended in error, instead of calling it handled', async () => {
    const machine = h.machineId(`hv-host-01.${DOMAIN}`);
    h.sim.setMachine(machine, { traits: { offline: true } });
    tracking.set(machine, 'forget');
    const first = isolateRequest(h, { mdeDeviceId: machine });
    await handle(first);
    await h.settle();
    expect(outcomesOf(first)).toEqual([[expect.objectContaining({ outcome: 'error' })]]);
    const second = isolateRequest(h, { mdeDeviceId: machine });
    await handle(second);
    await h.settle();
    expect(postsOn(h, machine, 'isolate')).toHaveLength(1);
    // MDE still holds the pending isolation: the second request adopts it rather than trusting a
    // record of this process that no longer follows anything.
    expect(outcomesOf(second)).toEqual([[expect.objectContaining({ adopted: true })]]);
  });

  it('keeps following an action through scattered poll failures: only consecutive ones count', async () => {
    const machine = h.machineId('wks-lab');
    // Offline: the isolation stays Pending for many polls, two of every three of which fail.
    h.sim.setMachine(machine, { traits: { offline: true } });
    tracking.set(machine, 'flaky');
    const request = isolateRequest(h, { mdeDeviceId: machine });
    await handle(request);
    await h.settle();
    const retries = h.notes.filter((n) => n.event === 'isolation-retry' && n.requestId === request.requestId);
    expect(retries.length).toBeGreaterThan(DEFAULT_TIMING.transientMaxAttempts);
    expect(outcomesOf(request)).toEqual([[expect.objectContaining({ outcome: 'timed-out' })]]);
  });
});
