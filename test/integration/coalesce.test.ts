/**
 * Storm coalescing on the state store, through intake, the in-process queue, the worker and the
 * simulator: one POST per device however many alerts name it, no alert lost behind another, and a
 * device whose request ended can be requested again at once.
 */
import type { OutcomeRecord } from '../../shared/dispatch/outcome';
import { PRIORITY } from '../../shared/dispatch/request';
import type { IntakeResult, SubmittedRequest } from '../../shared/intake/receive-alerts';
import { StoreUnavailableError } from '../../shared/state/store';
import { graphAlert, mdeAlert } from '../support/alert-payloads';
import {
  endHeldActions,
  expectOneCarriesTheOther,
  type Harness,
  HELD_ACTIONS,
  postsOn,
  startHarness,
  TEST_POLICY,
  until,
} from './harness';

const DOMAIN = 'contoso.local';

const POLICY = {
  ...TEST_POLICY,
  rules: [
    { name: 'isolate-high', minSeverity: 'high', action: 'isolate', isolationType: 'Full' },
    { name: 'isolate-low', minSeverity: 'low', action: 'isolate', isolationType: 'Selective' },
  ],
};

function requestsOf(result: IntakeResult): SubmittedRequest[] {
  return result.alerts.flatMap((a) => (a.status === 'accepted' ? a.requests : []));
}

describe('storm coalescing on the state store', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ policy: POLICY });
  });
  afterEach(() => h.close());

  const outcomeOf = (requestId: string): OutcomeRecord[] =>
    h.outcomes.filter((o) => o.requestId === requestId);

  it('posts one isolate for a storm of alerts about one device; every alert ends with one outcome', async () => {
    const machine = h.machineId(`ws-finance-01.${DOMAIN}`);
    const storm = Array.from({ length: 20 }, () => mdeAlert({ machineId: machine }));
    const result = await h.submit(storm);
    await h.settle();
    expect(h.actionsOn(machine, 'Isolate')).toHaveLength(1);
    const requests = requestsOf(result);
    const [carrier, ...absorbed] = requests;
    expect(carrier.duplicate).toBe(false);
    expect(absorbed.length).toBe(19);
    expect(absorbed.every((r) => r.duplicate && r.carriedBy === carrier.requestId)).toBe(true);
    for (const request of requests) expect(outcomeOf(request.requestId)).toHaveLength(1);
    const [carried] = outcomeOf(carrier.requestId);
    expect(carried).toMatchObject({ outcome: 'succeeded', absorbed: { count: 19 } });
    expect(carried.absorbed?.alerts.map((a) => a.requestId)).toEqual(absorbed.map((r) => r.requestId));
    expect(h.outcomes.filter((o) => o.outcome === 'coalesced')).toHaveLength(19);
  });

  it('keeps the order of the alerts about a device in one body: a later alert never overtakes an earlier one naming several', async () => {
    const x = h.machineId(`ws-finance-01.${DOMAIN}`);
    const y = h.machineId(`ws-hr-02.${DOMAIN}`);
    // A high alert naming X then Y (Full), then a low one naming Y (Selective): Y's Full request must
    // hold the key and absorb the Selective one, not wait behind it and adopt a Selective isolation.
    const high = graphAlert({
      severity: 'high',
      evidence: [x, y].map((id) => ({
        '@odata.type': '#microsoft.graph.security.deviceEvidence',
        mdeDeviceId: id,
      })),
    });
    const result = await h.submit([high, mdeAlert({ machineId: y }, { severity: 'Low' })]);
    await h.settle();
    const [, fullOnY, selectiveOnY] = requestsOf(result);
    expect(selectiveOnY).toMatchObject({ duplicate: true, carriedBy: fullOnY.requestId });
    expect(h.actionsOn(y, 'Isolate')).toEqual([expect.objectContaining({ scope: 'Full' })]);
  });

  it('decides a re-request at once after an analyst released the device, instead of dropping it', async () => {
    const machine = h.machineId(`ws-hr-02.${DOMAIN}`);
    const first = requestsOf(await h.submit(mdeAlert({ machineId: machine })));
    await h.settle();
    expect(outcomeOf(first[0].requestId)).toEqual([expect.objectContaining({ outcome: 'succeeded' })]);
    // The analyst releases it in the portal, and the device raises a new alert right after.
    await h.runtime.api.release(machine, 'false positive, released by the analyst');
    await until(() => h.sim.machineState(machine)?.isolated === false);
    const again = requestsOf(await h.submit(mdeAlert({ machineId: machine })));
    expect(again[0]).toMatchObject({ duplicate: false });
    await h.settle();
    expect(h.actionsOn(machine, 'Isolate')).toHaveLength(2);
    expect(outcomeOf(again[0].requestId)).toEqual([expect.objectContaining({ outcome: 'succeeded' })]);
    expect(h.sim.machineState(machine)?.isolated).toBe(true);
  });

  it('absorbs a later more severe alert asking the same, and raises the open request priority', async () => {
    const sameAsk = {
      ...POLICY,
      rules: [{ name: 'isolate-any', minSeverity: 'low', action: 'isolate', isolationType: 'Full' }],
    };
    await h.close();
    h = await startHarness({ policy: sameAsk });
    const machine = h.machineId(`ws-finance-01.${DOMAIN}`);
    const [first] = requestsOf(await h.submit(mdeAlert({ machineId: machine }, { severity: 'Low' })));
    const [later] = requestsOf(await h.submit(mdeAlert({ machineId: machine }, { severity: 'High' })));
    expect(later).toMatchObject({ duplicate: true, carriedBy: first.requestId });
    await h.settle();
    // Held by this inline process alone, the entry took the absorption on its copy, written with its close.
    const entry = await h.runtime.store.openRequests.get(`mde:${machine}`);
    expect(entry).toMatchObject({ requestId: first.requestId, priority: PRIORITY.high, absorbedCount: 1 });
    expect(h.actionsOn(machine, 'Isolate')).toHaveLength(1);
    expect(outcomeOf(later.requestId)).toEqual([
      expect.objectContaining({ outcome: 'coalesced', carriedBy: first.requestId }),
    ]);
    const [carried] = outcomeOf(first.requestId);
    expect(carried).toMatchObject({
      outcome: 'succeeded',
      absorbed: {
        count: 1,
        alerts: [expect.objectContaining({ requestId: later.requestId, severity: 'high' })],
      },
    });
  });

  it('lets Full after Selective wait behind it and decides it when the first ends', async () => {
    const machine = h.machineId(`ws-hr-02.${DOMAIN}`);
    const result = await h.submit([
      mdeAlert({ machineId: machine }, { severity: 'Low' }),
      mdeAlert({ machineId: machine }, { severity: 'High' }),
    ]);
    const [selective, full] = requestsOf(result);
    expect([selective.duplicate, full.duplicate]).toEqual([false, false]);
    await h.settle();
    expect(h.actionsOn(machine, 'Isolate')).toHaveLength(1);
    const [first] = outcomeOf(selective.requestId);
    const [second] = outcomeOf(full.requestId);
    expect(first).toMatchObject({ outcome: 'succeeded', isolationType: 'Selective' });
    expect(second.isolationType).toBe('Full');
    expect(second.outcome).not.toBe('coalesced');
    // Decided once the Selective isolation ended: MDE's list then shows the device isolated by it,
    // which this request adopts (one POST; an isolation type is not changed in place).
    expect(second).toMatchObject({ outcome: 'succeeded', actionId: first.actionId, adopted: true });
    expect(Date.parse(second.timings.terminalAt)).toBeGreaterThanOrEqual(
      Date.parse(first.timings.terminalAt),
    );
    expect(h.notes).toContainEqual(
      expect.objectContaining({
        event: 'isolation-deferred',
        requestId: full.requestId,
        why: expect.stringMatching(/waiting behind request/),
      }),
    );
  });

  it('posts once for two names of one machine: the second adopts the first', async () => {
    // The action stays under way until both requests are decided, as it does in MDE for seconds: on a
    // busy machine a simulated one could end first, and the second request would adopt it from MDE's list.
    await h.close();
    h = await startHarness({ policy: POLICY, simulator: HELD_ACTIONS });
    const machine = h.machineId(`web10.${DOMAIN}`);
    const result = await h.submit([
      mdeAlert({ machineId: machine }),
      mdeAlert({ dnsName: `web10.${DOMAIN}` }),
    ]);
    await until(
      () => h.outcomes.some((o) => o.outcome === 'coalesced'),
      'one request ending coalesced while the action is under way',
    );
    endHeldActions(h);
    await h.settle();
    expect(h.actionsOn(machine, 'Isolate')).toHaveLength(1);
    expect(postsOn(h, machine, 'isolate')).toHaveLength(1);
    const outcomes = requestsOf(result).map((r) => outcomeOf(r.requestId));
    expect(outcomes.map((o) => o.length)).toEqual([1, 1]);
    expectOneCarriesTheOther(outcomes[0][0], outcomes[1][0]);
  });

  it('does not accept an alert when the store cannot say whether its device has a request open', async () => {
    const machine = h.machineId(`ws-finance-01.${DOMAIN}`);
    const down = jest
      .spyOn(h.runtime.store.openRequests, 'update')
      .mockRejectedValue(new StoreUnavailableError('store unreachable (test)'));
    const result = await h.submit(mdeAlert({ machineId: machine }));
    down.mockRestore();
    expect(result).toMatchObject({ accepted: 0, failed: 1 });
    expect(result.alerts[0]).toMatchObject({ status: 'failed', error: { code: 'state-unavailable' } });
    await h.settle();
    expect(h.actionsOn(machine)).toEqual([]);
    expect(h.outcomes).toEqual([]);
  });
});
