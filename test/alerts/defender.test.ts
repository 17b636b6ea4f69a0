import { fixture } from '../fixtures';
import { alertsOf, copyOf, fixtureAlert, onlyAlertOf } from './helpers';

describe('MDE API alert', () => {
  it('reads machineId and computerDnsName, and takes no evidence SHA1 for a device (sample 10)', () => {
    const alert = fixtureAlert('10-mde-api-alert-medium.json');
    expect(alert).toMatchObject({
      source: 'mde-alert',
      alertId: 'da638856212847710932_-1173482659',
      incidentId: '18344',
      severity: 'medium',
      firing: true,
      categories: ['CredentialAccess'],
      mitreTechniques: ['T1003.001'],
    });
    expect(alert.devices).toEqual([
      { mdeDeviceId: '1e995fdbdad4249f97839a34f4276ef2b47ce37e', fqdn: 'dev-ws-0458.ad.northwind.example' },
    ]);
  });

  it('reads a value list: each alert separately, Resolved not firing, UnSpecified informational', () => {
    const [first, second] = alertsOf(fixture('13-mde-api-alert-value-list.json'));
    expect(first.alertId).toBe('da638856212847710932_-1173482659');
    expect(second).toMatchObject({
      alertId: 'da638856299911223344_1200334455',
      incidentId: '18350',
      severity: 'informational',
      firing: false,
      // An upper-case id is lowered; a bare computerDnsName is still MDE's own name for the device.
      devices: [{ mdeDeviceId: '7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f901', fqdn: 'lab-vm-07' }],
    });
  });

  it('keeps an alert whose machineId is null (no device) instead of rejecting it', () => {
    const body = copyOf<Record<string, unknown>>('10-mde-api-alert-medium.json');
    body.machineId = null;
    body.computerDnsName = null;
    expect(onlyAlertOf(body).devices).toEqual([]);
  });
});

describe('Graph security alert v2', () => {
  it('reads deviceEvidence and merges process and file evidence naming the same device (sample 11)', () => {
    const alert = fixtureAlert('11-graph-alert-v2-device-evidence.json');
    expect(alert).toMatchObject({
      source: 'graph-alert',
      alertId: 'da98ef15b6-f373-4725-a128-324c645dd198_1',
      incidentId: '18377',
      severity: 'high',
      firing: true,
      categories: ['Ransomware'],
      mitreTechniques: ['T1486', 'T1490'],
    });
    expect(alert.devices).toEqual([
      {
        mdeDeviceId: '41d31f1735beb60b6bf9b591ce42c615d3a2c9a5',
        fqdn: 'acct-lt-0093.ad.northwind.example',
        aadDeviceId: 'cc1c5283-81f3-4078-b976-5e80dd3b9f6d',
        ipAddresses: ['10.20.9.44', 'fe80::1c2b:3dff:fe4a:5b6c'],
      },
    ]);
  });

  it('finds no device in an email alert and never takes the attacker IP (sample 12)', () => {
    const alert = fixtureAlert('12-graph-alert-v2-no-device-evidence.json');
    expect(alert).toMatchObject({ severity: 'medium', firing: true, devices: [], incidentId: '18402' });
  });

  it('reads a value list; a device named only by process evidence is a device of its own', () => {
    const [, second] = alertsOf(fixture('16-graph-alert-v2-value-list.json'));
    expect(second).toMatchObject({ severity: 'informational', firing: false });
    expect(second.devices).toEqual([
      {
        mdeDeviceId: 'aaaa1111bbbb2222cccc3333dddd4444eeee5555',
        fqdn: 'tempdns',
        ipAddresses: ['10.20.1.5'],
      },
      { mdeDeviceId: 'ffff6666eeee7777dddd8888cccc9999bbbb0000' },
    ]);
  });
});

describe('Defender XDR streaming records', () => {
  it('groups rows by AlertId, tolerating evidence before its AlertInfo record', () => {
    const [ransomware, signIn] = alertsOf(fixture('14-xdr-stream-evidence-first.json'));
    expect(ransomware).toMatchObject({
      source: 'xdr-stream',
      alertId: 'da0c1d2e3f-1111-4a2b-9c3d-4e5f6a7b8c14_1',
      title: 'Ransomware behavior detected',
      severity: 'high',
      firing: true,
      categories: ['Ransomware'],
      mitreTechniques: ['T1486', 'T1490'],
    });
    // The Machine row and the File row name one device; the Ip row's RemoteIP is the other party.
    expect(ransomware.devices).toEqual([
      {
        mdeDeviceId: 'e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0',
        fqdn: 'eng-lt-0314.ad.northwind.example',
        ipAddresses: ['10.20.7.14'],
      },
    ]);
    expect(signIn).toMatchObject({
      alertId: 'da0c1d2e3f-2222-4a2b-9c3d-4e5f6a7b8c15_1',
      severity: 'medium',
      devices: [],
    });
  });

  it('reads a bare AlertEvidence row (AlertId + EntityType columns, no streaming envelope)', () => {
    const alert = onlyAlertOf({
      AlertId: 'da0c1d2e3f-3333-4a2b-9c3d-4e5f6a7b8c16_1',
      Title: 'Suspicious PowerShell',
      Severity: 'Medium',
      EntityType: 'Machine',
      DeviceId: 'E1F2A3B4C5D6E7F8A9B0C1D2E3F4A5B6C7D8E9F0',
      DeviceName: 'eng-lt-0314.ad.northwind.example',
      RemoteIP: '198.51.100.9',
    });
    expect(alert).toMatchObject({
      source: 'xdr-stream',
      alertId: 'da0c1d2e3f-3333-4a2b-9c3d-4e5f6a7b8c16_1',
      severity: 'medium',
      firing: true,
      devices: [
        { mdeDeviceId: 'e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0', fqdn: 'eng-lt-0314.ad.northwind.example' },
      ],
    });
  });

  it('parses an alert seen only through evidence rows', () => {
    const body = copyOf<{ records: Array<{ category: string }> }>('14-xdr-stream-evidence-first.json');
    body.records = body.records.filter((r) => r.category === 'AdvancedHunting-AlertEvidence');
    const alert = onlyAlertOf(body);
    expect(alert).toMatchObject({ title: 'Ransomware behavior detected', severity: 'high' });
    expect(alert.devices).toHaveLength(1);
  });
});
