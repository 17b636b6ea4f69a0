/**
 * Family 5: Defender XDR streaming API records (Event Hubs / Storage). `AlertInfo` and `AlertEvidence`
 * rows of one alert arrive as separate records, in any order, so alerts are reassembled by `AlertId`.
 */
import { DeviceCollector } from './devices';
import type { AlertFamily, RequiredField } from './family';
import { field, isRecord, type JsonRecord, listField, recordField, textField } from './fields';
import type { NormalizedAlert } from './model';
import { categories, mitreTechniques, normalizeSeverity } from './normalize';

const INFO = 'advancedhunting-alertinfo';
const EVIDENCE = 'advancedhunting-alertevidence';

interface AlertRows {
  info?: JsonRecord;
  evidence: JsonRecord[];
}

function alertRecords(body: JsonRecord): Array<{ category: string; row: JsonRecord }> {
  const out: Array<{ category: string; row: JsonRecord }> = [];
  for (const record of listField(body, 'records')) {
    const category = textField(record, 'category')?.toLowerCase();
    const row = recordField(record, 'properties');
    if ((category === INFO || category === EVIDENCE) && row && textField(row, 'AlertId'))
      out.push({ category, row });
  }
  return out;
}

function toAlert(alertId: string, rows: AlertRows): NormalizedAlert {
  const all = rows.info ? [rows.info, ...rows.evidence] : rows.evidence;
  const devices = new DeviceCollector();
  for (const row of rows.evidence) {
    // Every evidence row of a device (the Machine row, its files, its processes) repeats DeviceId.
    devices.add({
      mdeDeviceId: field(row, 'DeviceId'),
      fqdn: field(row, 'DeviceName'),
      ipAddresses: [field(row, 'LocalIP')],
    });
  }
  const first = (name: string) => all.map((row) => field(row, name)).find((value) => value !== undefined);
  return {
    source: 'xdr-stream',
    alertId,
    incidentId: null,
    incidentArmId: null,
    title: textField(rows.info, 'Title') ?? textField(rows.evidence[0], 'Title') ?? '',
    severity: normalizeSeverity(first('Severity')),
    // A stream carries events, not states: there is no resolved record to honour.
    firing: true,
    categories: categories(...all.flatMap((row) => [field(row, 'Category'), field(row, 'Categories')])),
    mitreTechniques: mitreTechniques(...all.map((row) => field(row, 'AttackTechniques'))),
    devices: devices.list(),
  };
}

function parse(body: JsonRecord): NormalizedAlert[] {
  const byAlert = new Map<string, AlertRows>();
  for (const { category, row } of alertRecords(body)) {
    const alertId = textField(row, 'AlertId') as string;
    let rows = byAlert.get(alertId);
    if (!rows) {
      rows = { evidence: [] };
      byAlert.set(alertId, rows);
    }
    if (category === INFO) rows.info ??= row;
    else rows.evidence.push(row);
  }
  return [...byAlert].map(([alertId, rows]) => toAlert(alertId, rows));
}

const hasAlertRecords: RequiredField = {
  name: 'records[] with category AdvancedHunting-AlertInfo or AdvancedHunting-AlertEvidence and properties.AlertId',
  present: (body) => alertRecords(body).length > 0,
};

export const xdrStream: AlertFamily = {
  source: 'xdr-stream',
  label: 'Defender XDR streaming records (AdvancedHunting-AlertInfo / -AlertEvidence)',
  required: [
    { name: 'records', present: (body) => listField(body, 'records').some(isRecord) },
    hasAlertRecords,
  ],
  parse,
};
