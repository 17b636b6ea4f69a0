/**
 * Family 5: Defender XDR streaming API records (Event Hubs / Storage). `AlertInfo` and `AlertEvidence`
 * rows of one alert arrive as separate records, in any order, so alerts are reassembled by `AlertId`.
 * A bare `AlertEvidence` row (a hunting query's result relayed as is) is accepted too (docs/alert-schemas.md §6.1).
 */

import { isRecord, type JsonRecord } from '../kernel/records';
import { DeviceCollector } from './devices';
import { type AlertFamily, anyOf, type RequiredField } from './family';
import { field, listField, recordField, textField } from './fields';
import type { NormalizedAlert } from './model';
import { categories, mitreTechniques, normalizeSeverity } from './normalize';
import { originOf } from './origin';

const INFO = 'advancedhunting-alertinfo';
const EVIDENCE = 'advancedhunting-alertevidence';

interface AlertRows {
  info?: JsonRecord;
  evidence: JsonRecord[];
  /** The `tenantId` of each record of the alert (a bare row has none). */
  tenantIds: Set<string | undefined>;
}

function isEvidenceRow(body: JsonRecord): boolean {
  return textField(body, 'AlertId') !== undefined && textField(body, 'EntityType') !== undefined;
}

interface AlertRecord {
  category: string;
  row: JsonRecord;
  tenantId?: string;
}

function alertRecords(body: JsonRecord): AlertRecord[] {
  if (isEvidenceRow(body)) return [{ category: EVIDENCE, row: body }];
  const out: AlertRecord[] = [];
  for (const record of listField(body, 'records')) {
    const category = textField(record, 'category')?.toLowerCase();
    const row = recordField(record, 'properties');
    if ((category === INFO || category === EVIDENCE) && row && textField(row, 'AlertId'))
      out.push({ category, row, tenantId: textField(record, 'tenantId') });
  }
  return out;
}

function toAlert(alertId: string, rows: AlertRows): NormalizedAlert {
  const all = rows.info ? [rows.info, ...rows.evidence] : rows.evidence;
  const devices = new DeviceCollector(rows.evidence);
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
    ...devices.collected(),
    // Records of one alert naming different tenants name none: the tenant list then refuses it.
    ...(rows.tenantIds.size === 1 && originOf([...rows.tenantIds][0], undefined)),
  };
}

function parse(body: JsonRecord): NormalizedAlert[] {
  const byAlert = new Map<string, AlertRows>();
  for (const { category, row, tenantId } of alertRecords(body)) {
    const alertId = textField(row, 'AlertId') as string;
    let rows = byAlert.get(alertId);
    if (!rows) {
      rows = { evidence: [], tenantIds: new Set() };
      byAlert.set(alertId, rows);
    }
    rows.tenantIds.add(tenantId);
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
  label:
    'Defender XDR streaming records (AdvancedHunting-AlertInfo / -AlertEvidence) or an AlertEvidence row',
  required: [
    anyOf(
      { name: 'records', present: (body) => listField(body, 'records').some(isRecord) },
      { name: 'AlertId and EntityType', present: isEvidenceRow },
    ),
    hasAlertRecords,
  ],
  parse,
};
