import { lookupsFor, pickMachine, STALE_DUPLICATE_MS } from '../../shared/dispatch/steps/resolve';
import type { Machine } from '../../shared/mde/types';

const now = Date.UTC(2026, 10, 29);
function machine(id: string, lastSeenAgoMs: number): Machine {
  return {
    id,
    computerDnsName: 'kiosk.example',
    lastSeen: new Date(now - lastSeenAgoMs).toISOString(),
    osPlatform: 'Windows10',
    healthStatus: 'Active',
    machineTags: [],
  };
}

describe('pickMachine', () => {
  it('takes a single match, and one record seen twice', () => {
    const one = machine('a', 0);
    expect(pickMachine([one])).toBe(one);
    expect(pickMachine([one, { ...one }])?.id).toBe('a');
    expect(pickMachine([])).toBeNull();
  });

  it('refuses two records of one name that both reported recently', () => {
    expect(pickMachine([machine('old', 20 * 86_400_000), machine('new', 3_600_000)])).toBeNull();
  });

  it('takes the live record when every other one is a long-stale duplicate', () => {
    const live = machine('new', 0);
    expect(pickMachine([machine('gone', STALE_DUPLICATE_MS + 86_400_000), live])).toBe(live);
  });
});

describe('lookupsFor', () => {
  it('tries exact identifiers strongest first, and an IP only when nothing else is known', () => {
    const keys = (device: Parameters<typeof lookupsFor>[0]) => lookupsFor(device).map((l) => l.key);
    expect(keys({ hostname: 'WS1', mdeDeviceId: 'ab', fqdn: 'WS1.Corp', ipAddresses: ['10.0.0.1'] })).toEqual(
      ['id:ab', 'fqdn:ws1.corp', 'host:ws1'],
    );
    expect(keys({ ipAddresses: ['10.0.0.1'] })).toEqual(['ip:10.0.0.1']);
    expect(keys({ fqdn: 'KIOSK-12' })).toEqual(['host:kiosk-12']);
    expect(keys({ hostname: '10', fqdn: '10.99.99.99' })).toEqual(['fqdn:10.99.99.99']);
  });

  it('takes a short-name match for an FQDN only when MDE has no domain for it or the Entra id confirms it', () => {
    const aad = '0f2a4c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b';
    const hostLookup = lookupsFor({ hostname: 'ws1', fqdn: 'ws1.partner.example', aadDeviceId: aad }).find(
      (l) => l.key.startsWith('host:'),
    );
    const accepts = hostLookup?.accepts ?? (() => true);
    const record = (computerDnsName: string, aadDeviceId: string | null = null) => ({
      ...machine('m', 0),
      computerDnsName,
      aadDeviceId,
    });
    expect(accepts(record('ws1.contoso.local'))).toBe(false);
    expect(accepts(record('ws1'))).toBe(true);
    expect(accepts(record('ws1.contoso.local', aad.toUpperCase()))).toBe(true);
    // With the short name only, every exact short-name match stays a candidate.
    expect(lookupsFor({ hostname: 'ws1' })[0].accepts).toBeUndefined();
  });
});
