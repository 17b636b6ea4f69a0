/**
 * The manual shape on the alert paths (POST /api/alerts, the alert queue: both are `receiveAlerts`)
 * comes from whoever holds the alerts key: it is a `relay-manual` alert, decided in the deployment's
 * mode and under the breaker like every alert, and the person it names is recorded as the relay's claim.
 */
import { breakerLimits } from '../../shared/dispatch/steps/blast-radius';
import { startHarness, TEST_POLICY } from './harness';

const DOMAIN = 'contoso.local';
const BREAKER_LIMIT = 3;
const gen = (n: number) => `gen-${String(n).padStart(5, '0')}.fleet.${DOMAIN}`;
const order = (fqdn: string) => ({ fqdn, comment: 'contain now', requestedBy: 'ciso@contoso.com' });

describe('the manual shape relayed on the alert paths', () => {
  it('stays a dry run in a dry-run deployment even with MANUAL_ISOLATION_MODE=enforce', async () => {
    const h = await startHarness({ env: { ISOLATION_MODE: 'dry-run', MANUAL_ISOLATION_MODE: 'enforce' } });
    try {
      const machine = h.machineId(`ws-finance-01.${DOMAIN}`);
      const result = await h.submit(order(`ws-finance-01.${DOMAIN}`));
      expect(result.alerts).toEqual([
        expect.objectContaining({
          status: 'accepted',
          source: 'relay-manual',
          decisions: [expect.objectContaining({ action: 'isolate', rule: 'manual', mode: 'dry-run' })],
        }),
      ]);
      await h.settle();
      expect(h.sim.calls().filter((c) => c.method === 'POST')).toEqual([]);
      expect(h.outcomes).toEqual([
        expect.objectContaining({ machineId: machine, outcome: 'dry-run', mode: 'dry-run' }),
      ]);
    } finally {
      await h.close();
    }
  }, 30_000);

  it('is held by the breaker: a batch of 8 with maxIsolations 3 isolates 3, claimed by the relay', async () => {
    const h = await startHarness({
      simulator: { fleet: { generate: 8, offlineShare: 0 } },
      policy: { ...TEST_POLICY, blastRadius: { ...TEST_POLICY.blastRadius, maxIsolations: BREAKER_LIMIT } },
    });
    try {
      const names = Array.from({ length: 8 }, (_, i) => gen(i + 1));
      await h.submit(names.map(order));
      await h.settle();
      const isolated = names.map((name) => h.machineId(name)).filter((id) => h.actionsOn(id).length > 0);
      expect(isolated).toHaveLength(BREAKER_LIMIT);
      expect(h.outcomes.map((o) => (o.outcome === 'escalated' ? o.rule : o.outcome)).sort()).toEqual([
        ...Array(5).fill('blast-radius'),
        ...Array(3).fill('succeeded'),
      ]);
      expect(await h.runtime.store.breaker.status(breakerLimits(h.runtime.policy))).toMatchObject({
        open: true,
        count: BREAKER_LIMIT,
      });

      const claimed = '(claimed by the relay) ciso@contoso.com';
      for (const machineId of isolated) {
        const [action] = h.actionsOn(machineId);
        expect(action.requestorComment).toContain(`requested by ${claimed};`);
        expect(action.requestorComment).toContain('relay-manual alert');
        const record = await h.runtime.store.register.get(machineId);
        expect(record?.provenance).toMatchObject({
          alertSource: 'relay-manual',
          requestedBy: { kind: 'caller', name: claimed },
        });
      }
      expect(h.outcomes.every((o) => o.requestedBy.name === claimed)).toBe(true);
    } finally {
      await h.close();
    }
  }, 30_000);
});
