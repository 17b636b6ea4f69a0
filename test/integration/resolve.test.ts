import { DeviceResolver } from '../../shared/dispatch/resolve';
import { type Harness, startHarness } from './harness';

const DOMAIN = 'contoso.local';

describe('DeviceResolver against the simulator', () => {
  let h: Harness;
  let resolver: DeviceResolver;
  const machineCalls = () => h.sim.calls().filter((c) => c.api === 'machines').length;

  beforeAll(async () => {
    h = await startHarness();
    resolver = new DeviceResolver(h.runtime.api, { now: () => Date.now() }, 60_000);
  });
  afterAll(() => h.close());

  it('matches exactly, never by prefix or substring', async () => {
    const web1 = await resolver.resolve({ hostname: 'web1' });
    expect(web1).toMatchObject({ kind: 'machine', machine: { computerDnsName: `web1.${DOMAIN}` } });
    expect(await resolver.resolve({ hostname: 'web' })).toMatchObject({ kind: 'not-found' });
    expect(await resolver.resolve({ fqdn: `eb1.${DOMAIN}` })).toMatchObject({ kind: 'not-found' });
  });

  it('refuses a name two live records share, and falls back from an unknown id to the name', async () => {
    expect(await resolver.resolve({ hostname: 'kiosk-12' })).toMatchObject({
      kind: 'ambiguous',
      via: 'host:kiosk-12',
    });
    const fallback = await resolver.resolve({ mdeDeviceId: 'f'.repeat(40), fqdn: `ws-hr-02.${DOMAIN}` });
    expect(fallback).toMatchObject({ kind: 'machine', via: `fqdn:ws-hr-02.${DOMAIN}` });
  });

  it('spends one lookup per device in a storm, whichever way later alerts name it', async () => {
    const before = machineCalls();
    const first = await resolver.resolve({ fqdn: `ws-finance-01.${DOMAIN}` });
    const id = first.kind === 'machine' ? first.machine.id : '';
    for (let i = 0; i < 5; i += 1) {
      await resolver.resolve({ fqdn: `ws-finance-01.${DOMAIN}` });
      await resolver.resolve({ mdeDeviceId: id });
    }
    expect(machineCalls() - before).toBe(1);
  });
});
