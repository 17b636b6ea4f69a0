/**
 * A manual order waited for (inline, or `wait: true`) is answered with its outcome the moment the
 * worker reports it when it ends without an action, not when the wait runs out.
 */
import { FUNCTION_KEY_CALLER } from '../../shared/manual/caller';
import { carryOutManualOrder } from '../../shared/manual/operations';
import { isOrderProblem, parseOrder } from '../../shared/manual/order';
import { startHarness } from './harness';

const DOMAIN = 'contoso.local';
const caller = { label: FUNCTION_KEY_CALLER, name: null, objectId: null, tenants: 'every' as const };
// Longer than any test may run: an answer within the test comes from the outcome, never the wait.
const WAIT_LONGER_THAN_THE_TEST = { waitMs: 3_600_000, pollMs: 600_000 };

describe('a manual order that ends without an action', () => {
  it('answers skipped with the reason as soon as the outcome exists', async () => {
    const h = await startHarness();
    try {
      const machineId = h.machineId(`ws-hr-02.${DOMAIN}`);
      // An analyst isolated it in the portal: the worker finds it isolated and skips.
      const theirs = await h.runtime.api.isolate(machineId, 'analyst: suspicious logon', 'Full');
      while (h.sim.actions().find((a) => a.id === theirs.id)?.status !== 'Succeeded')
        await new Promise((done) => setTimeout(done, 20));
      const command = parseOrder('isolate', { machineId, comment: 'contain' });
      if (isOrderProblem(command)) throw new Error(command.message);

      const answer = await carryOutManualOrder(command, caller, h.runtime, WAIT_LONGER_THAN_THE_TEST);
      expect(answer).toMatchObject({
        status: 200,
        body: {
          status: 'skipped',
          posted: false,
          device: { machineId },
          reason: expect.stringContaining(`already isolated by action ${theirs.id}`),
          outcome: { outcome: 'skipped', machineId },
        },
      });
      expect(answer.body.requestId).toBe(h.outcomes[0].requestId);
      expect(h.actionsOn(machineId)).toHaveLength(1);
    } finally {
      await h.close();
    }
  }, 30_000);
});
