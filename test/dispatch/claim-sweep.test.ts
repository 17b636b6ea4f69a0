import { ClaimKeeper } from '../../shared/dispatch/claim-keeper';
import { isolateRequestFrom, requesterFor } from '../../shared/dispatch/request';
import { sweepLeftClaims } from '../../shared/dispatch/steps/claim-sweep';
import { entryFor, keyOf } from '../../shared/dispatch/steps/coalesce';
import type { RequestQueue } from '../../shared/dispatch/transport/queue';
import { InMemoryStateStore } from '../../shared/state/memory';
import { LIST_MAX } from '../../shared/state/store';
import { alertOf } from '../support/alerts';
import { recordingReporter } from '../support/reporter';

const NOW = Date.UTC(2026, 11, 7, 15, 0, 0);

function requestFor(n: number) {
  const device = { fqdn: `ws-${n}.contoso.com` };
  const alert = alertOf({ alertId: `alert-${n}`, incidentId: null, devices: [device] });
  return isolateRequestFrom(
    {
      device,
      action: 'isolate',
      isolationType: 'Selective',
      rule: 'ransomware',
      reason: 'ransomware',
      policyVersion: 'v1',
      mode: 'enforce',
      needsDeviceCheck: true,
    },
    { alert, receivedAt: new Date(NOW), policyVersion: 'v1', requestedBy: requesterFor(alert, 'ransomware') },
  );
}

describe('the start-up sweep of claims a stopped inline process left', () => {
  it('sends again every request it left, past the first page of the store', async () => {
    const clock = { now: () => NOW };
    const store = new InMemoryStateStore({ clock });
    const left = Array.from({ length: LIST_MAX + 3 }, (_, n) => requestFor(n));
    // Its holder never renews again: a lease that ran out a minute ago.
    const gone = { holder: 'inline-gone', heldUntil: 0 };
    await store.holders.renew(gone.holder, NOW - 60_000);
    for (const request of left)
      await store.openRequests.update(keyOf(request), () => ({
        next: entryFor(request, NOW - 120_000, gone),
        result: null,
      }));
    const sent: string[] = [];
    const queue = {
      send: async (message: { body: { requestId: string } }) => {
        sent.push(message.body.requestId);
      },
    } as unknown as RequestQueue;
    const { reporter } = recordingReporter();
    const claims = new ClaimKeeper(store, clock, reporter, 'inline');

    const swept = await sweepLeftClaims({ store, queue, claims, reporter, now: clock.now });

    expect(swept).toBe(left.length);
    expect(sent.sort()).toEqual(left.map((r) => r.requestId).sort());
  });
});
