/**
 * docs/architecture.md §5: a file SHA1 is 40 hex characters like an MDE device id, and a remote or attacker IP is not
 * the device. These payloads put such values where a careless parser would take them for a device.
 */
import { graphAlert } from '../support/alert-payloads';
import { type AzureMonitorBody, copyOf, onlyAlertOf } from './helpers';

const SHA1 = '0123456789abcdef0123456789abcdef01234567';
const DEVICE = 'dddddddddddddddddddddddddddddddddddddddd';

const securityAlertRow = (entities: unknown[]) => ({
  SystemAlertId: 'a6b0c1d2-e3f4-4a5b-8c6d-7e8f9a0b1c06',
  AlertSeverity: 'High',
  Status: 'New',
  Entities: JSON.stringify(entities),
});

const incident = (relatedEntities: unknown[]) => ({
  objectSchemaType: 'Incident',
  objectEventType: 'Create',
  object: {
    id: '/subscriptions/s/providers/Microsoft.SecurityInsights/Incidents/i1',
    name: 'i1',
    properties: { severity: 'High', status: 'New', relatedEntities },
  },
});

const xdrEvidence = (rows: Array<Record<string, unknown>>) => ({
  records: rows.map((row) => ({
    category: 'AdvancedHunting-AlertEvidence',
    properties: { AlertId: 'da1_1', Severity: 'High', ...row },
  })),
});

describe('file SHA1 hashes are never device ids', () => {
  it('a File entity whose SHA1 also sits in an id-named field (SecurityAlert row)', () => {
    const alert = onlyAlertOf(
      securityAlertRow([{ $id: '1', Type: 'file', Name: 'x.exe', Sha1: SHA1, DeviceId: SHA1.toUpperCase() }]),
    );
    expect(alert.devices).toEqual([]);
  });

  it('a File entity of an incident with its hash in additionalData under an id name', () => {
    const alert = onlyAlertOf(
      incident([
        {
          kind: 'File',
          properties: { fileName: 'x.exe', additionalData: { Sha1: SHA1, MdatpDeviceId: SHA1 } },
        },
      ]),
    );
    expect(alert.devices).toEqual([]);
  });

  // Relays serialize nested JSON into strings; the parsers decode it, so the hash guard must too.
  it.each([
    [
      'additionalData relayed as a JSON string',
      incident([
        {
          kind: 'File',
          properties: {
            fileName: 'x.exe',
            additionalData: JSON.stringify({ Sha1: SHA1, MdatpDeviceId: SHA1 }),
          },
        },
      ]),
    ],
    [
      'relatedEntities relayed as a JSON string',
      {
        ...incident([]),
        object: {
          id: '/subscriptions/s/providers/Microsoft.SecurityInsights/Incidents/i1',
          name: 'i1',
          properties: {
            severity: 'High',
            status: 'New',
            relatedEntities: JSON.stringify([
              { kind: 'Process', properties: { additionalData: { MdatpDeviceId: SHA1 } } },
              { kind: 'FileHash', properties: { algorithm: 'SHA1', hashValue: SHA1 } },
            ]),
          },
        },
      },
    ],
    [
      'a SecurityAlert row whose File entity holds its hashes as a JSON string',
      securityAlertRow([
        {
          $id: '1',
          Type: 'file',
          Name: 'x.exe',
          FileHashes: JSON.stringify([{ Algorithm: 'SHA1', Value: SHA1 }]),
        },
        { $id: '2', Type: 'process', MdatpDeviceId: SHA1 },
      ]),
    ],
  ])('a hash inside %s is still a hash', (_, body) => {
    expect(onlyAlertOf(body).devices).toEqual([]);
  });

  it('a FileHash entity elsewhere in the incident marks the value as a hash', () => {
    const alert = onlyAlertOf(
      incident([
        { kind: 'Process', properties: { processId: '1', additionalData: { MdatpDeviceId: SHA1 } } },
        { kind: 'FileHash', properties: { algorithm: 'SHA1', hashValue: SHA1 } },
        { kind: 'Host', properties: { hostName: 'web1', additionalData: { MdatpDeviceId: DEVICE } } },
      ]),
    );
    expect(alert.devices).toEqual([{ mdeDeviceId: DEVICE, hostname: 'web1' }]);
  });

  it('an XDR File evidence row with both SHA1 and DeviceId: the DeviceId is the device, the SHA1 is not', () => {
    const alert = onlyAlertOf(
      xdrEvidence([
        {
          EntityType: 'File',
          SHA1: SHA1,
          FileName: 'x.exe',
          DeviceId: DEVICE,
          DeviceName: 'pc1.corp.example',
        },
      ]),
    );
    expect(alert.devices).toEqual([{ mdeDeviceId: DEVICE, fqdn: 'pc1.corp.example' }]);
  });

  it('an XDR File evidence row whose DeviceId holds the SHA1 names no device id', () => {
    const alert = onlyAlertOf(
      xdrEvidence([{ EntityType: 'File', SHA1: SHA1, FileName: 'x.exe', DeviceId: SHA1 }]),
    );
    expect(alert.devices).toEqual([]);
  });

  it('Graph file evidence whose mdeDeviceId repeats the file SHA1', () => {
    const alert = onlyAlertOf(
      graphAlert({
        evidence: [
          {
            '@odata.type': '#microsoft.graph.security.fileEvidence',
            fileDetails: { sha1: SHA1, fileName: 'x.exe' },
            mdeDeviceId: SHA1,
          },
        ],
      }),
    );
    expect(alert.devices).toEqual([]);
  });

  it('an MDE API alert whose machineId equals an evidence SHA1 keeps only the device name', () => {
    const body = copyOf<Record<string, unknown>>('10-mde-api-alert-medium.json');
    body.machineId = SHA1;
    body.evidence = [{ entityType: 'File', sha1: SHA1, fileName: 'x.exe' }];
    expect(onlyAlertOf(body).devices).toEqual([{ fqdn: 'dev-ws-0458.ad.northwind.example' }]);
  });

  it('an Azure Monitor dimension set with the hash in the DeviceId column as well', () => {
    const body = copyOf<AzureMonitorBody>('07-azmon-logalert-v2-fired-dimensions.json');
    body.data.alertContext.condition.allOf[0].dimensions = [
      { name: 'SHA1', value: SHA1 },
      { name: 'DeviceId', value: SHA1 },
      { name: 'DeviceName', value: 'ops-ws-0199.ad.northwind.example' },
    ];
    expect(onlyAlertOf(body).devices).toEqual([{ fqdn: 'ops-ws-0199.ad.northwind.example' }]);
  });
});

describe('IP addresses are never device names', () => {
  it('a Host entity whose hostName is the remote address', () => {
    const alert = onlyAlertOf(incident([{ kind: 'Host', properties: { hostName: '203.0.113.45' } }]));
    expect(alert.devices).toEqual([]);
  });

  it('Azure Monitor: a Computer dimension or configurationItem that is an IP', () => {
    const body = copyOf<AzureMonitorBody>('07-azmon-logalert-v2-fired-dimensions.json');
    body.data.alertContext.condition.allOf[0].dimensions = [{ name: 'Computer', value: '10.1.2.3' }];
    body.data.essentials.configurationItems = ['203.0.113.9'];
    expect(onlyAlertOf(body).devices).toEqual([]);
  });

  it('an XDR Ip evidence row whose DeviceName carries the remote address', () => {
    const alert = onlyAlertOf(
      xdrEvidence([{ EntityType: 'Ip', RemoteIP: '198.51.100.1', DeviceName: '198.51.100.1' }]),
    );
    expect(alert.devices).toEqual([]);
  });

  // `10.99.99.99.` (a root dot) once passed as a host name and MDE's prefix search found `10.20.30.40`.
  it.each(['10.99.99.99.', '10.99.99.99', '10', '10.99', '10.99.corp.example'])(
    'a name field holding %j (an address, or a name whose first label is all digits) names no device',
    (name) => {
      const body = copyOf<AzureMonitorBody>('07-azmon-logalert-v2-fired-dimensions.json');
      body.data.alertContext.condition.allOf[0].dimensions = [{ name: 'Computer', value: name }];
      body.data.essentials.configurationItems = [name];
      expect(onlyAlertOf(body).devices).toEqual([]);
      expect(onlyAlertOf(incident([{ kind: 'Host', properties: { hostName: name } }])).devices).toEqual([]);
      expect(onlyAlertOf(xdrEvidence([{ EntityType: 'Machine', DeviceName: name }])).devices).toEqual([]);
    },
  );

  it('a host name that merely starts with digits is still a host name', () => {
    const alert = onlyAlertOf(incident([{ kind: 'Host', properties: { hostName: '10ws.corp.example.' } }]));
    expect(alert.devices).toEqual([{ hostname: '10ws', fqdn: '10ws.corp.example' }]);
  });
});
