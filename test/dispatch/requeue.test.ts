import { parseRateLimits } from '../../shared/config';
import { InProcessQueue } from '../../shared/dispatch/in-process-queue';
import { RequestLifecycle } from '../../shared/dispatch/lifecycle';
import { MdeThrottle } from '../../shared/dispatch/quota/throttle';
import { manualRequest, type TrackedAction, trackingRequestFor } from '../../shared/dispatch/request';
import { DEFAULT_TIMING } from '../../shared/dispatch/timing';

describe('RequestLifecycle.requeue', () => {
  it('names the tracked action in the message id: tracking another action of the same request is never a duplicate', async () => {
    const clock = { now: () => 1_000 };
    const throttle = new MdeThrottle({ rateLimits: parseRateLimits('100/1000ms'), headroom: 0, clock });
    const queue = new InProcessQueue({ clock });
    const lifecycle = new RequestLifecycle(
      queue,
      { outcome: () => undefined, note: () => undefined },
      throttle,
      clock,
      DEFAULT_TIMING,
      () => 0.5,
    );
    const device = { hostname: 'ws-1' };
    const alert = {
      source: 'manual' as const,
      alertId: 'manual-1',
      incidentId: null,
      incidentArmId: null,
      title: 'IR-1',
      severity: 'high' as const,
      firing: true,
      categories: [],
      mitreTechniques: [],
      devices: [device],
    };
    const request = manualRequest('isolate', device, 'Full', 'enforce', {
      alert,
      receivedAt: new Date(clock.now()),
      policyVersion: 'v1',
      requestedBy: { kind: 'caller', name: 'analyst' },
    });
    const tracked = (actionId: string): TrackedAction => ({
      actionId,
      action: 'isolate',
      machineId: 'a'.repeat(40),
      computerDnsName: 'ws-1',
      postedAt: new Date(clock.now()).toISOString(),
      adopted: false,
      polls: 1,
    });
    try {
      for (const actionId of ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'])
        await lifecycle.requeue(
          trackingRequestFor(request, tracked(actionId)),
          2_000,
          'isolation-tracking',
          'poll',
        );
      // The same state sent again (a redelivered poll) is still collapsed.
      await lifecycle.requeue(
        trackingRequestFor(request, tracked('22222222-2222-4222-8222-222222222222')),
        2_000,
        'isolation-tracking',
        'poll',
      );
      expect(queue.stats).toMatchObject({ accepted: 2, duplicatesDropped: 1 });
    } finally {
      await queue.close();
      await throttle.stop();
    }
  });
});
