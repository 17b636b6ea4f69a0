/**
 * A workspace's SecurityAlert history, made the same way on every run, in the shape the Logs query
 * API answers (columns + rows; Entities, ExtendedProperties and Techniques as JSON strings, as the
 * table stores them). `normal` alerts spread evenly over the span, one workstation each, its severity
 * fixed by the device (every tenth device high, the next three medium, the rest low), one in 97
 * already resolved; then a storm of `storm` high alerts 100 ms apart on lab machines named nowhere
 * else, two minutes after the middle normal alert.
 */
import { createHash } from 'node:crypto';

/** Rows as the Logs query API answers them: columns, then rows in column order. */
export interface RecordedTable {
  columns: Array<{ name: string; type: string }>;
  rows: unknown[][];
}

export const WORKSTATIONS = 2_000;
const DOMAIN = 'corp.contoso.example';
const STORM_SPACING_MS = 100;

const COLUMNS: RecordedTable['columns'] = [
  { name: 'TimeGenerated', type: 'datetime' },
  { name: 'SystemAlertId', type: 'string' },
  { name: 'AlertName', type: 'string' },
  { name: 'DisplayName', type: 'string' },
  { name: 'AlertSeverity', type: 'string' },
  { name: 'Status', type: 'string' },
  { name: 'ProductName', type: 'string' },
  { name: 'ProviderName', type: 'string' },
  { name: 'VendorOriginalId', type: 'string' },
  { name: 'Entities', type: 'string' },
  { name: 'ExtendedProperties', type: 'string' },
  { name: 'Tactics', type: 'string' },
  { name: 'Techniques', type: 'string' },
  { name: 'CompromisedEntity', type: 'string' },
];

export type Severity = 'High' | 'Medium' | 'Low';

/** The severity of every alert on workstation `index`. */
export function severityOfWorkstation(index: number): Severity {
  const tenth = index % 10;
  return tenth === 0 ? 'High' : tenth <= 3 ? 'Medium' : 'Low';
}

export const workstationName = (index: number) => `ws-${String(index).padStart(4, '0')}`;
export const labName = (index: number) => `lab-${String(index).padStart(4, '0')}`;

const mdeIdOf = (host: string) => createHash('sha1').update(host).digest('hex');
const guidOf = (seed: string) => {
  const hex = createHash('sha256').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
};

function row(at: number, serial: string, host: string, severity: Severity, status: string): unknown[] {
  const entities = [
    {
      $id: '2',
      Type: 'host',
      HostName: host,
      DnsDomain: DOMAIN,
      FQDN: `${host}.${DOMAIN}`,
      MdatpDeviceId: mdeIdOf(host),
      OSFamily: 'Windows',
    },
    { $id: '3', Type: 'process', ProcessId: '4411', CommandLine: 'payload.exe', Host: { $ref: '2' } },
  ];
  const title = severity === 'High' ? 'Ransomware behavior detected' : 'Suspicious process launched';
  return [
    new Date(at).toISOString(),
    guidOf(serial),
    title,
    title,
    severity,
    status,
    'Microsoft Defender Advanced Threat Protection',
    'MDATP',
    `da${guidOf(`vendor-${serial}`)}_1`,
    JSON.stringify(entities),
    JSON.stringify({ Category: severity === 'High' ? 'Ransomware' : 'Execution' }),
    severity === 'High' ? 'Impact' : 'Execution',
    JSON.stringify(severity === 'High' ? ['T1486'] : ['T1059']),
    host,
  ];
}

export interface AlertHistoryShape {
  /** The newest alert is an hour before this (ms). */
  end: number;
  /** The oldest alert is this long before `end` (ms). */
  spanMs: number;
  normal: number;
  storm: number;
}

export interface RecordedHistory {
  table: RecordedTable;
  /** When the storm's first alert was raised (ms). */
  stormAt: number;
}

export function recordedSecurityAlerts(shape: AlertHistoryShape): RecordedHistory {
  const first = shape.end - shape.spanMs;
  const spacing = (shape.spanMs - 3_600_000) / shape.normal;
  const normalAt = (j: number) => first + Math.round(j * spacing);
  const stormAt = normalAt(Math.floor(shape.normal / 2)) + 120_000;
  const rows: unknown[][] = [];
  for (let j = 0; j < shape.normal; j += 1) {
    const device = j % WORKSTATIONS;
    const status = j % 97 === 0 ? 'Resolved' : 'New';
    rows.push(
      row(normalAt(j), `normal-${j}`, workstationName(device), severityOfWorkstation(device), status),
    );
  }
  for (let k = 0; k < shape.storm; k += 1)
    rows.push(row(stormAt + k * STORM_SPACING_MS, `storm-${k}`, labName(k), 'High', 'New'));
  rows.sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  return { table: { columns: COLUMNS, rows }, stormAt };
}
