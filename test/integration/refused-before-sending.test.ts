/**
 * A request the MDE client refuses before sending ends at once with a reason that says so: MDE was
 * never asked, so the outcome must not read as MDE's rejection.
 */
import { type Harness, isolateRequest, startHarness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

it('ends a queued request whose device MDE could not be asked about as refused before sending', async () => {
  // A queue message from an older or tampered writer: an IPv6 address with a zone, which means
  // nothing to MDE and whose `%` would turn into a percent-escape in the URL path.
  const request = {
    ...isolateRequest(h, { ipAddresses: ['10.0.0.1'] }),
    device: { ipAddresses: ['fe80::1%eth0'] },
  };
  h.sim.resetCalls();
  await h.runtime.handle(request, { deliveryCount: 1 });
  await h.settle();
  expect(h.outcomes.filter((o) => o.requestId === request.requestId)).toEqual([
    expect.objectContaining({
      outcome: 'error',
      reason:
        'findMachinesByIp refused before sending to MDE: ip "fe80::1%eth0" is not an IPv4 or IPv6 address',
    }),
  ]);
  expect(h.sim.calls().filter((c) => c.api !== 'token')).toEqual([]);
});
