import { DeviceCollector, deviceFromHints, mdeDeviceIdIn } from '../../shared/alerts/devices';
import { normalizeSeverity } from '../../shared/alerts/normalize';

describe('device identifiers', () => {
  it('accepts only 40-hex MDE ids, lower-cased', () => {
    expect(deviceFromHints({ mdeDeviceId: 'ABCDEF0123456789ABCDEF0123456789ABCDEF01' })).toEqual({
      mdeDeviceId: 'abcdef0123456789abcdef0123456789abcdef01',
    });
    expect(deviceFromHints({ mdeDeviceId: 'abcdef0123456789abcdef0123456789abcdef0' })).toBeNull();
    expect(deviceFromHints({ mdeDeviceId: 12345 })).toBeNull();
  });

  it('forms the FQDN from host name and DNS domain, and splits an FQDN given as host name', () => {
    expect(deviceFromHints({ hostname: 'web1', dnsDomain: 'corp.example' })).toEqual({
      hostname: 'web1',
      fqdn: 'web1.corp.example',
    });
    expect(deviceFromHints({ hostname: 'Web1.Corp.Example' })).toEqual({
      hostname: 'web1',
      fqdn: 'web1.corp.example',
    });
  });

  it('does not make a device from an IP or a user name alone', () => {
    expect(deviceFromHints({ ipAddresses: ['10.0.0.1'] })).toBeNull();
    expect(deviceFromHints({ hostname: 'NT AUTHORITY\\SYSTEM' })).toBeNull();
  });

  it('merges refs of one device and keeps devices with different ids apart even when names match', () => {
    const devices = new DeviceCollector();
    devices.add({ hostname: 'web1' });
    devices.add({ mdeDeviceId: 'a'.repeat(40), fqdn: 'web1.corp.example', ipAddresses: ['10.0.0.1'] });
    devices.add({ mdeDeviceId: 'a'.repeat(40), ipAddresses: ['10.0.0.2'] });
    devices.add({ mdeDeviceId: 'b'.repeat(40), hostname: 'web10' });
    devices.add({ mdeDeviceId: 'c'.repeat(40), hostname: 'web1' });
    expect(devices.list()).toEqual([
      {
        hostname: 'web1',
        mdeDeviceId: 'a'.repeat(40),
        fqdn: 'web1.corp.example',
        ipAddresses: ['10.0.0.1', '10.0.0.2'],
      },
      { mdeDeviceId: 'b'.repeat(40), hostname: 'web10' },
      { mdeDeviceId: 'c'.repeat(40), hostname: 'web1' },
    ]);
  });

  it('joins two entries when a later ref bridges them (an id on one, the name on the other)', () => {
    const devices = new DeviceCollector();
    devices.add({ mdeDeviceId: 'a'.repeat(40) });
    devices.add({ hostname: 'web1' });
    devices.add({ mdeDeviceId: 'a'.repeat(40), hostname: 'web1' });
    expect(devices.list()).toEqual([{ mdeDeviceId: 'a'.repeat(40), hostname: 'web1' }]);
  });
});

describe('severity', () => {
  it.each([
    ['High', 'high'],
    ['critical', 'high'],
    ['Medium', 'medium'],
    ['LOW', 'low'],
    ['Informational', 'informational'],
    ['UnSpecified', 'informational'],
    ['unknown', 'informational'],
    ['unknownFutureValue', 'informational'],
    [undefined, 'informational'],
    [3, 'informational'],
    // Names of Object.prototype members must not resolve to them.
    ['constructor', 'informational'],
    ['__proto__', 'informational'],
    ['toString', 'informational'],
  ])('%s → %s', (value, severity) => {
    expect(normalizeSeverity(value)).toBe(severity);
  });
});

describe('MDE device id spellings', () => {
  it.each([
    'MdatpDeviceId',
    'MdeDeviceId',
    'mdeDeviceId',
    'machineId',
    'DeviceId',
    'MDATPDEVICEID',
    'deviceid',
  ])('reads %s from an entity', (name) => {
    expect(mdeDeviceIdIn({ [name]: 'ABCDEF0123456789ABCDEF0123456789ABCDEF01' })).toBe(
      'abcdef0123456789abcdef0123456789abcdef01',
    );
  });

  it('skips a spelling holding something else and takes the next valid one', () => {
    expect(mdeDeviceIdIn({ MdatpDeviceId: 'n/a', DeviceId: 'b'.repeat(40) })).toBe('b'.repeat(40));
  });
});
