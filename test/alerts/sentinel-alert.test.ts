import { copyOf, fixtureAlert, onlyAlertOf } from './helpers';

describe('Sentinel alert trigger body and SecurityAlert row', () => {
  it('reads the trigger body of sample 05: top-level MdatpDeviceId, one device despite the $ref', () => {
    const alert = fixtureAlert('05-sentinel-alert-trigger-entities-array.json');
    expect(alert).toMatchObject({
      source: 'sentinel-alert',
      alertId: '0198cfe1-6043-457f-9651-d5ea99ef170e',
      incidentId: null,
      incidentArmId: null,
      relatedAlertIds: ['da5cfda723-a215-460a-a044-9ba4c67ac7f4_1'],
      title: 'Suspicious credential dump from LSASS',
      severity: 'medium',
      firing: true,
      categories: ['CredentialAccess'],
    });
    expect(alert.devices).toEqual([
      {
        mdeDeviceId: '0a28179d066c63a45b98d678638e0b258f6b38f2',
        fqdn: 'eng-ws-0311.ad.northwind.example',
        hostname: 'eng-ws-0311',
        aadDeviceId: 'b1d0602d-f3b2-44ec-bf08-b3e4071aa8a4',
        ipAddresses: ['10.20.8.31'],
      },
    ]);
  });

  it('parses a row whose Entities is a JSON string, the host inline in a process and a $ref elsewhere', () => {
    const alert = fixtureAlert('06-securityalert-row-entities-string-ref.json');
    expect(alert).toMatchObject({
      source: 'sentinel-alert',
      alertId: 'a6b0c1d2-e3f4-4a5b-8c6d-7e8f9a0b1c06',
      relatedAlertIds: ['4f0c2a9e-6b1d-4e3f-8a7c-9d0e1f2a3b06_1'],
      title: 'Credential dumping tool detected',
      severity: 'high',
      firing: true,
      categories: ['CredentialAccess', 'Discovery'],
      mitreTechniques: ['T1003', 'T1003.001'],
    });
    expect(alert.devices).toEqual([
      {
        mdeDeviceId: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b',
        fqdn: 'sql-prd-03.ad.northwind.example',
        hostname: 'sql-prd-03',
        ipAddresses: ['10.30.1.13'],
      },
    ]);
  });

  it('never takes the file SHA1 of a FileHash entity for a device id', () => {
    const body = copyOf<Record<string, unknown>>('06-securityalert-row-entities-string-ref.json');
    body.Entities = JSON.stringify([
      { $id: '1', Type: 'filehash', Algorithm: 'SHA1', Value: '0123456789abcdef0123456789abcdef01234567' },
      { $id: '2', Type: 'file', Name: 'x.exe', FileHashes: [{ $ref: '1' }] },
    ]);
    expect(onlyAlertOf(body).devices).toEqual([]);
  });

  it.each(['Resolved', 'Dismissed'])('does not fire for status %s', (status) => {
    const body = copyOf<Record<string, unknown>>('05-sentinel-alert-trigger-entities-array.json');
    body.Status = status;
    expect(onlyAlertOf(body).firing).toBe(false);
  });

  it('survives an Entities string that is not JSON, with no device', () => {
    const body = copyOf<Record<string, unknown>>('06-securityalert-row-entities-string-ref.json');
    body.Entities = '[{"$id":"1","Type":"host",';
    expect(onlyAlertOf(body).devices).toEqual([]);
  });
});
