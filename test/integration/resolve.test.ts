import { DeviceResolver } from '../../shared/dispatch/steps/resolve';
import { type Harness, startHarness } from './harness';

/** A Sentinel alert whose Host entity names a device of a partner domain MDE does not know. */
const partnerAlert = {
  SystemAlertId: 'partner-ransomware-1',
  AlertName: 'Ransomware activity',
  AlertSeverity: 'High',
  Status: 'New',
  ProviderName: 'ASI Scheduled Alerts',
  Entities: [{ $id: '1', Type: 'host', HostName: 'ws-finance-01', DnsDomain: 'partner.example' }],
};

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

  it('never takes a namesake in another domain for an FQDN MDE does not know', async () => {
    const partner = await resolver.resolve({
      hostname: 'ws-finance-01',
      fqdn: 'ws-finance-01.partner.example',
    });
    expect(partner).toMatchObject({
      kind: 'not-found',
      namesakes: [expect.objectContaining({ computerDnsName: `ws-finance-01.${DOMAIN}` })],
    });
    // The short name alone keeps its meaning: the one machine of that name.
    expect(await resolver.resolve({ hostname: 'ws-finance-01' })).toMatchObject({
      kind: 'machine',
      machine: { computerDnsName: `ws-finance-01.${DOMAIN}` },
    });
    // A record MDE holds without a domain is the device the FQDN names.
    expect(await resolver.resolve({ hostname: 'wks-lab', fqdn: 'wks-lab.partner.example' })).toMatchObject({
      kind: 'machine',
      machine: { computerDnsName: 'wks-lab' },
    });
  });

  it('escalates the partner alert with the namesake listed, and isolates nothing', async () => {
    const machine = h.machineId(`ws-finance-01.${DOMAIN}`);
    await h.submit(partnerAlert);
    await h.settle();
    expect(h.actionsOn(machine)).toHaveLength(0);
    expect(h.outcomes).toEqual([
      expect.objectContaining({
        outcome: 'escalated',
        reason: expect.stringMatching(
          new RegExp(
            `no MDE machine matches.*same short name.*${machine} \\(ws-finance-01\\.${DOMAIN}, last seen`,
          ),
        ),
      }),
    ]);
  });

  it('never takes the digits of an IP with a trailing dot for a host name', async () => {
    const numeric = h.sim.addMachine({ name: '10.20.30.40', osPlatform: 'Ubuntu', version: '22.04' });
    // What the parsers make of `Computer: "10.99.99.99."`.
    expect(await resolver.resolve({ hostname: '10', fqdn: '10.99.99.99' })).toMatchObject({
      kind: 'not-found',
      tried: ['fqdn:10.99.99.99'],
    });
    expect(await resolver.resolve({ fqdn: '10.20.30.40' })).toMatchObject({ machine: { id: numeric.id } });
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
