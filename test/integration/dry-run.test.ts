import { mdeAlert } from '../support/alert-payloads';
import { type Harness, isolateRequest, startHarness } from './harness';

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
});
