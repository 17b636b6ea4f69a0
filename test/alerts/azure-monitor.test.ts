import { type AzureMonitorBody, copyOf, fixtureAlert, onlyAlertOf } from './helpers';

describe('Azure Monitor common alert schema', () => {
  it('reads a Log Alerts V2 payload: device from the dimensions, MDE alert id kept as related (sample 07)', () => {
    const alert = fixtureAlert('07-azmon-logalert-v2-fired-dimensions.json');
    expect(alert).toMatchObject({
      source: 'azure-monitor',
      alertId:
        '/subscriptions/1e866126-531b-4d38-a7ec-07e451767fcf/providers/Microsoft.AlertsManagement/alerts/700fcc28-59a1-40e2-91b2-ac3a85e90c15',
      incidentId: null,
      title: 'MDE high-severity machine alert - isolation candidate',
      severity: 'high',
      firing: true,
      relatedAlertIds: ['da2a7f3c91-0d4e-4b8a-b6c2-9e1f5a3d7c40_1'],
    });
    expect(alert.devices).toEqual([
      { mdeDeviceId: '757ea4ad42a092e12f041c3e4850f3868359e84b', fqdn: 'ops-ws-0199.ad.northwind.example' },
    ]);
  });

  it('does not fire when Resolved, and maps Sev3 to low', () => {
    const alert = fixtureAlert('09-azmon-logalert-v2-resolved.json');
    expect(alert.firing).toBe(false);
    expect(alert.severity).toBe('low');
  });

  it('reads legacy SearchResults by column name: one device per distinct host, local IPs only', () => {
    const alert = fixtureAlert('08-azmon-legacy-searchresults-fired.json');
    expect(alert.severity).toBe('medium');
    expect(alert.devices).toEqual([
      {
        mdeDeviceId: 'ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12',
        fqdn: 'web-prd-01.ad.northwind.example',
        ipAddresses: ['10.40.0.11'],
      },
      {
        mdeDeviceId: 'cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34',
        fqdn: 'web-prd-02.ad.northwind.example',
        ipAddresses: ['10.40.0.12'],
      },
    ]);
    // RemoteIP is the other party; InitiatingProcessSHA1 is a file hash.
    expect(JSON.stringify(alert.devices)).not.toMatch(/203\.0\.113|1111111111/);
  });

  it('falls back to configurationItems of a log alert that projected no device column', () => {
    const body = copyOf<AzureMonitorBody>('07-azmon-logalert-v2-fired-dimensions.json');
    body.data.alertContext.condition.allOf[0].dimensions = [];
    expect(onlyAlertOf(body).devices).toEqual([
      { fqdn: 'ops-ws-0199.ad.northwind.example', hostname: 'ops-ws-0199' },
    ]);
  });

  it.each([
    ['Sev0', 'high'],
    ['Sev1', 'high'],
    ['Sev2', 'medium'],
    ['Sev3', 'low'],
    ['Sev4', 'informational'],
  ])('maps %s to %s', (sev, severity) => {
    const body = copyOf<AzureMonitorBody>('07-azmon-logalert-v2-fired-dimensions.json');
    body.data.essentials.severity = sev;
    expect(onlyAlertOf(body).severity).toBe(severity);
  });
});
