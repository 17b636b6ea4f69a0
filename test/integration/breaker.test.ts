/**
 * The blast-radius breaker on the whole pipeline: it counts isolations MDE accepted, so an MDE outage
 * (every isolate POST refused) neither opens it nor uses up its window.
 */
import { breakerLimits } from '../../shared/dispatch/steps/blast-radius';
import { InMemoryStateStore } from '../../shared/state/memory';
import { StoreUnavailableError } from '../../shared/state/store';
import { mdeAlert } from '../support/alert-payloads';
import { type Harness, startHarness, TEST_POLICY } from './harness';

const DOMAIN = 'contoso.local';

describe('blast-radius breaker against the simulator', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      simulator: { fleet: { generate: 7, offlineShare: 0 } },
      policy: { ...TEST_POLICY, blastRadius: { ...TEST_POLICY.blastRadius, maxIsolations: 3 } },
    });
  });
  afterAll(() => h.close());

  const isolations = (names: string[]) =>
    names.map((name) => h.actionsOn(h.machineId(`${name}.${DOMAIN}`), 'Isolate').length);

  it('stays closed through failed isolate POSTs, and later isolations go through', async () => {
    h.sim.setFaults({ serverErrorRate: 1, serverErrorStatus: 503, apis: ['isolate'] });
    const failing = ['ws-finance-01', 'ws-hr-02', 'web1'];
    await h.submit(failing.map((name) => mdeAlert({ dnsName: `${name}.${DOMAIN}` })));
    await h.settle();
    const refused = h.sim.calls().filter((c) => c.api === 'isolate' && c.status === 503).length;
    expect(refused).toBeGreaterThan(3);
    expect(isolations(failing)).toEqual([0, 0, 0]);
    expect(h.outcomes.map((o) => o.outcome)).toEqual(['dead-lettered', 'dead-lettered', 'dead-lettered']);
    expect(await h.runtime.store.breaker.status(breakerLimits(h.runtime.policy))).toMatchObject({
      open: false,
      count: 0,
      reserved: 0,
    });

    h.sim.setFaults({});
    const later = ['web10', 'mac-design-01', 'lnx-app-01'];
    await h.submit(later.map((name) => mdeAlert({ dnsName: `${name}.${DOMAIN}` })));
    await h.settle();
    expect(isolations(later)).toEqual([1, 1, 1]);
    expect(await h.runtime.store.breaker.status(breakerLimits(h.runtime.policy))).toMatchObject({
      open: false,
      count: 3,
      reserved: 0,
    });
  });

  it('never lets isolations in flight together overshoot the limit', async () => {
    await h.runtime.store.breaker.reset('integration test', 'the next case starts closed');
    const names = Array.from({ length: 6 }, (_, i) => `gen-${String(i + 1).padStart(5, '0')}.fleet`);
    const before = h.outcomes.length;
    await h.submit(names.map((name) => mdeAlert({ dnsName: `${name}.${DOMAIN}` })));
    await h.settle();
    expect(isolations(names).reduce((a, b) => a + b, 0)).toBe(3);
    const outcomes = h.outcomes.slice(before).map((o) => (o.outcome === 'escalated' ? o.rule : o.outcome));
    expect(outcomes.sort()).toEqual([
      'blast-radius',
      'blast-radius',
      'blast-radius',
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
  });

  it('counts an isolation whose answer was lost once the retry adopts it as its own', async () => {
    await h.runtime.store.breaker.reset('integration test', 'the next case starts closed');
    const name = `gen-00007.fleet.${DOMAIN}`;
    h.sim.setFaults({ dropAfterExecuteRate: 1, apis: ['isolate'] });
    const before = h.outcomes.length;
    await h.submit(mdeAlert({ dnsName: name }));
    await h.settle();
    h.sim.setFaults({});
    expect(h.actionsOn(h.machineId(name), 'Isolate')).toHaveLength(1);
    expect(h.outcomes.slice(before)).toEqual([
      expect.objectContaining({ outcome: 'succeeded', adopted: true }),
    ]);
    expect(await h.runtime.store.breaker.status(breakerLimits(h.runtime.policy))).toMatchObject({
      count: 1,
      reserved: 0,
    });
  });
});

describe('the deployment-wide cap whose store refuses its writes once MDE answered', () => {
  it('still records and follows the isolation MDE accepted, noting the write the cap missed', async () => {
    const store = new InMemoryStateStore();
    const refuse = async () => {
      throw new StoreUnavailableError('the deployment store did not answer in time');
    };
    store.deploymentCap.commit = refuse;
    store.deploymentCap.release = refuse;
    const h = await startHarness({
      simulator: { fleet: { generate: 2, offlineShare: 0 } },
      env: { MDE_DEPLOYMENT_MAX_ISOLATIONS: '10/1h' },
      store,
    });
    try {
      const [machine] = h.sim.machines();
      await h.submit(mdeAlert({ machineId: machine.id }));
      await h.settle();
      expect(h.actionsOn(machine.id, 'Isolate')).toHaveLength(1);
      expect(h.outcomes.map((o) => o.outcome)).toEqual(['succeeded']);
      expect(h.notes.filter((n) => n.event === 'isolation-retry')).toEqual([]);
      expect(h.notes.filter((n) => n.event === 'state-store-write-missed')).toHaveLength(1);
    } finally {
      await h.close();
    }
  });
});
