/**
 * A reconciliation that waits for the machineactions budget is carried out later, not lost: its
 * deferred copy is a message of its own, which duplicate detection (in-process as on Service Bus)
 * must not take for the order it continues.
 */
import { type Harness, startHarness, until } from './harness';

let h: Harness;
afterEach(() => h.close());

it('carries out a reconciliation deferred for budget once the budget allows', async () => {
  // One call of each API per window: two reconciliations asked together cannot both read now.
  const oneCallAtATime = '1/300ms,100/1h';
  h = await startHarness({
    simulator: { rateLimits: oneCallAtATime },
    env: { MDE_RATE_LIMITS: oneCallAtATime },
  });
  const first = await h.runtime.requestReconciliation('test');
  const second = await h.runtime.requestReconciliation('test');
  const done = (id: string) => h.notes.some((n) => n.event === 'reconciliation' && n.reconciliationId === id);
  await until(() => done(first) && done(second), 'both reconciliations');
  expect(h.notes.filter((n) => n.event === 'reconciliation-deferred').length).toBeGreaterThan(0);
  expect(h.sim.calls().filter((c) => c.status === 429)).toEqual([]);
});
