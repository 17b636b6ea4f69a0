import { copyOf, fixtureAlert, type IncidentBody, onlyAlertOf } from './helpers';

const ARM_PREFIX =
  '/subscriptions/1e866126-531b-4d38-a7ec-07e451767fcf/resourceGroups/rg-secops-weu/providers/Microsoft.OperationalInsights/workspaces/law-sentinel-weu/providers/Microsoft.SecurityInsights/Incidents/';

describe('Sentinel incident trigger', () => {
  it('reads the XDR incident of sample 01: ids, severity, one device for a host and the process naming it', () => {
    const alert = fixtureAlert('01-sentinel-incident-xdr-single-host.json');
    expect(alert).toMatchObject({
      source: 'sentinel-incident',
      alertId: 'b8833ef0-e7fc-4866-832c-15a71722ba00',
      incidentId: '5ea509e5-5baf-4583-b891-85e08961ce29',
      incidentArmId: `${ARM_PREFIX}5ea509e5-5baf-4583-b891-85e08961ce29`,
      providerIncidentId: '18207',
      relatedAlertIds: ['da4e8360d5-908e-4e3d-bb9a-71a42f9e3911_1'],
      severity: 'high',
      firing: true,
      categories: ['Execution', 'DefenseEvasion'],
      mitreTechniques: ['T1059', 'T1027'],
    });
    expect(alert.devices).toEqual([
      {
        mdeDeviceId: '716240a6127a2375ac877a23ed488ec786b9e4a4',
        fqdn: 'fin-ws-0142.ad.northwind.example',
        hostname: 'fin-ws-0142',
      },
    ]);
  });

  it('keeps a host known only by name, and never takes the remote IP entity for a device (sample 03)', () => {
    const alert = fixtureAlert('03-sentinel-incident-hostname-only-low.json');
    expect(alert.severity).toBe('low');
    expect(alert.devices).toEqual([{ hostname: 'kiosk-lobby-07' }]);
    expect(JSON.stringify(alert.devices)).not.toContain('203.0.113.45');
    // A Sentinel-native incident has no separate XDR number.
    expect(alert.providerIncidentId).toBeUndefined();
  });

  it('reads the older additionalData shape (FQDN, AadDeviceId, PascalCase values) and the MdeDeviceId spelling', () => {
    const alert = fixtureAlert('02-sentinel-incident-older-additional-data-update.json');
    expect(alert.devices).toEqual([
      {
        mdeDeviceId: 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee01',
        fqdn: 'hr-ws-0021.ad.northwind.example',
        hostname: 'hr-ws-0021',
        aadDeviceId: '5d1f6b2a-8c3e-4f70-9a1b-2c3d4e5f6a01',
        ipAddresses: ['10.20.3.21'],
      },
      { mdeDeviceId: 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee02', hostname: 'hr-ws-0022' },
    ]);
    // The NAT's public address and the FileHash entity's SHA1 are not device identifiers.
    expect(JSON.stringify(alert.devices)).not.toMatch(/198\.51\.100\.77|aa11bb22cc33/);
  });

  it('still fires on an update event of an open incident, and gathers every alert id and technique', () => {
    const alert = fixtureAlert('02-sentinel-incident-older-additional-data-update.json');
    expect(alert.firing).toBe(true);
    expect(alert.alertId).toBe('7c2d1e0f-0002-4b5a-9c3d-1a2b3c4d5e02');
    expect(alert.relatedAlertIds).toEqual([
      'da7c2d1e0f-0002-4b5a-9c3d-1a2b3c4d5e02_1',
      '7c2d1e0f-0003-4b5a-9c3d-1a2b3c4d5e03',
      'da7c2d1e0f-0003-4b5a-9c3d-1a2b3c4d5e03_1',
    ]);
    expect(alert.providerIncidentId).toBe('18260');
    expect(alert.categories).toEqual(['Execution', 'Persistence']);
    expect(alert.mitreTechniques).toEqual(['T1059.001', 'T1053.005']);
  });

  it('does not fire for a closed incident', () => {
    const alert = fixtureAlert('04-sentinel-incident-closed.json');
    expect(alert.firing).toBe(false);
    expect(alert.devices).toHaveLength(1);
  });

  it('reads entity keys in any case, as connector outputs vary', () => {
    const body = copyOf<IncidentBody>('03-sentinel-incident-hostname-only-low.json');
    body.object.properties.relatedEntities = [
      {
        Kind: 'Host',
        Properties: {
          HostName: 'KIOSK-LOBBY-07',
          DNSDOMAIN: 'ad.northwind.example',
          AdditionalData: { mdatpdeviceid: 'ABCDEF0123456789ABCDEF0123456789ABCDEF01' },
        },
      },
    ];
    expect(onlyAlertOf(body).devices).toEqual([
      {
        mdeDeviceId: 'abcdef0123456789abcdef0123456789abcdef01',
        fqdn: 'kiosk-lobby-07.ad.northwind.example',
        hostname: 'kiosk-lobby-07',
      },
    ]);
  });

  it('accepts an incident whose entities have not arrived yet, with no device', () => {
    const body = copyOf<IncidentBody>('01-sentinel-incident-xdr-single-host.json');
    body.object.properties.relatedEntities = undefined;
    expect(onlyAlertOf(body).devices).toEqual([]);
  });
});
