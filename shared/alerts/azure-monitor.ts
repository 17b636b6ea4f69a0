/**
 * Family 2: Azure Monitor common alert schema (action-group webhook). Devices exist only where the rule
 * author projected them: Log Alerts V2 dimensions, or legacy log alerts' embedded SearchResults tables.
 */

import { isRecord, type JsonRecord } from '../kernel/records';
import { DeviceCollector, type DeviceHints } from './devices';
import { type AlertFamily, has, hasText } from './family';
import { field, listField, recordField, text, textField, unique } from './fields';
import type { NormalizedAlert } from './model';
import { isFiringStatus, normalizeSeverity } from './normalize';

/** A dimension set or a result row, as column name → value. */
type Columns = Map<string, unknown>;

function pick(columns: Columns, ...names: string[]): unknown {
  for (const name of names) {
    const value = columns.get(name.toLowerCase());
    if (text(value)) return value;
  }
  return undefined;
}

/**
 * Column names as Defender/Log Analytics tables spell them. Only the device's own address counts:
 * `RemoteIP` and client IPs are the other party.
 */
function hintsOf(columns: Columns): DeviceHints {
  return {
    mdeDeviceId: pick(columns, 'DeviceId', 'MdeDeviceId', 'MdatpDeviceId', 'MachineId'),
    fqdn: pick(columns, 'DeviceName', 'DeviceDnsName', 'ComputerDnsName', 'FQDN'),
    hostname: pick(columns, 'Computer', 'HostName'),
    aadDeviceId: pick(columns, 'AadDeviceId'),
    ipAddresses: [pick(columns, 'LocalIP', 'DeviceIp', 'LastIpAddress')],
    azureResourceId: pick(columns, '_ResourceId', 'ResourceId'),
  };
}

function alertIdsOf(columns: Columns): string[] {
  return [pick(columns, 'AlertId', 'SystemAlertId')].map(text).filter((id): id is string => id !== undefined);
}

function dimensionSets(context: JsonRecord | undefined): Columns[] {
  const condition = recordField(context, 'condition');
  const lists = [
    ...listField(condition, 'allOf').map((criterion) => listField(criterion, 'dimensions')),
    listField(context, 'Dimensions'),
  ];
  return lists
    .filter((dimensions) => dimensions.length > 0)
    .map(
      (dimensions) =>
        new Map(
          dimensions
            .filter(isRecord)
            .map((d) => [textField(d, 'name')?.toLowerCase() ?? '', field(d, 'value')] as [string, unknown]),
        ),
    );
}

/** Legacy log alerts embed results as tables; columns are matched by name, never by position. */
function searchResultRows(context: JsonRecord | undefined): Columns[] {
  const rows: Columns[] = [];
  for (const table of listField(recordField(context, 'SearchResults'), 'tables')) {
    const names = listField(table, 'columns').map((column) => textField(column, 'name')?.toLowerCase() ?? '');
    for (const row of listField(table, 'rows')) {
      if (!Array.isArray(row)) continue;
      rows.push(new Map(names.map((name, index) => [name, row[index]] as [string, unknown])));
    }
  }
  return rows;
}

function parse(body: JsonRecord): NormalizedAlert[] {
  const data = recordField(body, 'data');
  const essentials = recordField(data, 'essentials');
  const context = recordField(data, 'alertContext');
  const rows = [...dimensionSets(context), ...searchResultRows(context)];
  // Rows are name → value pairs, so a SHA1 column is only recognizable by its column name.
  const devices = new DeviceCollector(rows.map((columns) => Object.fromEntries(columns)));
  for (const columns of rows) devices.add(hintsOf(columns));
  if (devices.list().length === 0 && textField(essentials, 'signalType')?.toLowerCase() === 'log') {
    // Log alerts fill configurationItems from the Computer / _ResourceId column; the last resort.
    // ARM ids among them are skipped: a VM's resource name is not its host name.
    for (const item of listField(essentials, 'configurationItems')) devices.add({ hostname: item });
  }
  const alertId = textField(essentials, 'alertId') ?? 'unknown';
  const normalized: NormalizedAlert = {
    source: 'azure-monitor',
    alertId,
    incidentId: null,
    incidentArmId: null,
    title: textField(essentials, 'alertRule') ?? '',
    severity: normalizeSeverity(field(essentials, 'severity')),
    firing: isFiringStatus(field(essentials, 'monitorCondition')),
    categories: [],
    mitreTechniques: [],
    ...devices.collected(),
  };
  const related = unique(rows.flatMap(alertIdsOf));
  if (related.length > 0) normalized.relatedAlertIds = related;
  return [normalized];
}

export const azureMonitor: AlertFamily = {
  source: 'azure-monitor',
  label: 'Azure Monitor common alert schema (action group webhook)',
  required: [
    hasText('schemaId', 'azureMonitorCommonAlertSchema'),
    hasText('data.essentials.alertId'),
    has('data.essentials.monitorCondition'),
  ],
  parse,
};
