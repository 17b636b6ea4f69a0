import { mdeAlert } from '../support/alert-payloads';
import { type Harness, isolateRequest, releaseRequest, startHarness, untilActionStatus } from './harness';

// One simulator per test file: MSAL keeps managed-identity tokens in a process-wide cache, so a
// second simulator in the same file would be sent the first one's token.
const DOMAIN = 'contoso.local';

describe('dry run', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { ISOLATION_MODE: 'dry-run' } });
  });
  afterAll(() => h.close());

  it('resolves and decides every device but posts nothing', async () => {
    const finance = h.machineId(`ws-finance-01.${DOMAIN}`);
    await h.submit([mdeAlert({ machineId: finance }), mdeAlert({ dnsName: `ws-hr-02.${DOMAIN}` })]);
    await h.settle();
    expect(h.sim.calls().filter((c) => c.method === 'POST')).toEqual([]);
    expect(h.outcomes.map((o) => o.outcome)).toEqual(['dry-run', 'dry-run']);
    expect(h.outcomes[0].reason).toMatch(/would isolate ws-finance-01/);
  });

  it('posts nothing for a request decided in enforce mode once the policy is in dry-run', async () => {
    const machine = h.machineId(`web10.${DOMAIN}`);
    const decidedInEnforce = { ...isolateRequest(h, { mdeDeviceId: machine }), mode: 'enforce' as const };
    await h.runtime.handle(decidedInEnforce, { deliveryCount: 1 });
    await h.settle();
    expect(h.sim.calls().filter((c) => c.method === 'POST')).toEqual([]);
    expect(h.outcomes.find((o) => o.requestId === decidedInEnforce.requestId)).toMatchObject({
      outcome: 'dry-run',
      reason: expect.stringMatching(/policy in dry-run mode/),
    });
  });

  it('says what enforce would do with a release: not "would release" for a device MDE lists as released', async () => {
    const machineId = h.machineId(`ws-hr-02.${DOMAIN}`);
    const dryRelease = async (forceReason?: string) => {
      const request = releaseRequest(h, { mdeDeviceId: machineId }, forceReason);
      await h.runtime.handle(request, { deliveryCount: 1 });
      await h.settle();
      return h.outcomes.find((o) => o.requestId === request.requestId);
    };
    // Nothing on record: whose isolation it would end is unknown, so enforce would refuse it; so does the dry run.
    expect(await dryRelease()).toMatchObject({ outcome: 'escalated', rule: 'provenance-unknown' });
    // Isolated (outside this dry run, by an analyst): the release forced past it would be posted.
    const isolated = await h.runtime.api.isolate(machineId, 'analyst: isolate', 'Full');
    await untilActionStatus(h, isolated.id, 'Succeeded');
    const whileIsolated = await dryRelease('analyst agreed');
    expect(whileIsolated).toMatchObject({ outcome: 'dry-run' });
    expect(whileIsolated?.reason).toMatch(
      /^dry-run: would release ws-hr-02\.contoso\.local \[queued in dry-run/,
    );
    // Released since: enforce would skip it, and the dry run must not claim it would release.
    const released = await h.runtime.api.release(machineId, 'analyst: release');
    await untilActionStatus(h, released.id, 'Succeeded');
    const afterRelease = await dryRelease();
    expect(afterRelease).toMatchObject({ outcome: 'dry-run', actionId: released.id });
    expect(afterRelease?.reason).toMatch(
      new RegExp(
        `^dry-run: would not release ws-hr-02\\.contoso\\.local: not isolated: released by action ${released.id}`,
      ),
    );
    expect(afterRelease?.reason).not.toMatch(/would release/);
  });

  it('says what enforce would do with a request a person overrode while it waited: escalate, not isolate', async () => {
    const machineId = h.machineId(`lnx-app-01.${DOMAIN}`);
    const analyst = { requestor: 'analyst@contoso.com', comment: 'analyst' };
    const isolated = h.sim.portalAction(machineId, 'Isolate', { ...analyst, ageMs: 60_000 });
    h.sim.advanceTime(100);
    expect(h.sim.actions().find((a) => a.id === isolated.id)?.status).toBe('Succeeded');
    const request = isolateRequest(h, { mdeDeviceId: machineId });
    // After the request came in, the analyst released the device: enforce would not isolate it over that.
    const released = h.sim.portalAction(machineId, 'Unisolate', analyst);
    h.sim.advanceTime(100);
    expect(h.sim.actions().find((a) => a.id === released.id)?.status).toBe('Succeeded');

    await h.runtime.handle(request, { deliveryCount: 1 });
    await h.settle();
    const outcome = h.outcomes.find((o) => o.requestId === request.requestId);
    expect(outcome).toMatchObject({ outcome: 'dry-run', actionId: released.id });
    expect(outcome?.reason).toMatch(
      /^dry-run: would not isolate lnx-app-01\.contoso\.local but escalate: a release \(action \S+ by analyst@contoso\.com, .*\) was requested after this request came in/,
    );
  });
});
