import {
  deviceDisplayName,
  deviceIdForDisplay,
  deviceName,
  strongestIdentifier,
} from '../../shared/kernel/device-label';

const MDE_ID = '716240a6127a2375ac877a23ed488ec786b9e4a4';
const AAD_ID = '8f0d2a5e-1c3b-4e6f-9a7d-2b4c6e8f0a1c';
const everything = {
  mdeDeviceId: MDE_ID,
  fqdn: 'ws-01.contoso.com',
  hostname: 'ws-01',
  aadDeviceId: AAD_ID,
  ipAddresses: ['10.0.0.9', '10.0.0.2'],
};

describe('a device for a person: a name first', () => {
  it("prefers the machine record's DNS name, then the FQDN, then the host name", () => {
    expect(deviceName(everything, { computerDnsName: 'ws-01.corp.contoso.com' })).toBe(
      'ws-01.corp.contoso.com',
    );
    expect(deviceName(everything, { computerDnsName: null })).toBe('ws-01.contoso.com');
    expect(deviceName({ hostname: 'ws-01', mdeDeviceId: MDE_ID })).toBe('ws-01');
    expect(deviceName({ mdeDeviceId: MDE_ID })).toBeUndefined();
  });

  it("without a name, an id: the machine's, then the MDE id, then the Entra id", () => {
    expect(deviceIdForDisplay(everything, { machineId: 'f'.repeat(40) })).toBe('f'.repeat(40));
    expect(deviceIdForDisplay(everything)).toBe(MDE_ID);
    expect(deviceIdForDisplay({ aadDeviceId: AAD_ID })).toBe(AAD_ID);
  });

  it('falls back to the addresses, and to nothing for a reference naming nothing', () => {
    expect(deviceDisplayName({ hostname: 'ws-01', mdeDeviceId: MDE_ID })).toBe('ws-01');
    expect(deviceDisplayName({ mdeDeviceId: MDE_ID, aadDeviceId: AAD_ID })).toBe(MDE_ID);
    expect(deviceDisplayName({ ipAddresses: ['10.0.0.9', '10.0.0.2'] })).toBe('10.0.0.9, 10.0.0.2');
    expect(deviceDisplayName({})).toBeUndefined();
  });
});

describe('a device by identity: the strongest identifier first', () => {
  it('ranks MDE id, FQDN, Entra id, host name, addresses', () => {
    const { ipAddresses } = everything;
    expect(strongestIdentifier(everything)).toEqual({ kind: 'mde', value: MDE_ID });
    expect(strongestIdentifier({ ...everything, mdeDeviceId: undefined })).toEqual({
      kind: 'fqdn',
      value: 'ws-01.contoso.com',
    });
    expect(strongestIdentifier({ aadDeviceId: AAD_ID, hostname: 'ws-01', ipAddresses })).toEqual({
      kind: 'aad',
      value: AAD_ID,
    });
    expect(strongestIdentifier({ hostname: 'ws-01', ipAddresses })).toEqual({ kind: 'host', value: 'ws-01' });
  });

  it('names a set of addresses the same whatever their order, and gives nothing for {}', () => {
    expect(strongestIdentifier({ ipAddresses: ['10.0.0.9', '10.0.0.2'] })).toEqual({
      kind: 'ip',
      value: '10.0.0.2,10.0.0.9',
    });
    expect(strongestIdentifier({ ipAddresses: [] })).toBeUndefined();
    expect(strongestIdentifier({})).toBeUndefined();
  });
});
