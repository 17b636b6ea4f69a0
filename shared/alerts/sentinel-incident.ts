/** Family 1a: the body of the Logic App "Microsoft Sentinel incident" trigger (create and update events). */

import { lastSegment } from '../kernel/arm-id';
import { isRecord, type JsonRecord } from '../kernel/records';
import { DeviceCollector } from './devices';
import { type AlertFamily, hasRecord, hasText } from './family';
import { field, listField, recordField, textField, unique } from './fields';
import type { NormalizedAlert } from './model';
import { categories, isFiringStatus, mitreTechniques, normalizeSeverity } from './normalize';
import { originOf } from './origin';
import { collectEntityDevices } from './sentinel-entities';

const SENTINEL_PROVIDERS = new Set(['azure sentinel', 'microsoft sentinel']);

function parse(body: JsonRecord): NormalizedAlert[] {
  const incident = recordField(body, 'object') ?? {};
  const properties = recordField(incident, 'properties') ?? {};
  const additional = recordField(properties, 'additionalData');
  const alerts = listField(properties, 'alerts')
    .filter(isRecord)
    .map((alert) => recordField(alert, 'properties') ?? alert);

  const devices = new DeviceCollector(body);
  collectEntityDevices(listField(properties, 'relatedEntities'), devices);

  const armId = textField(incident, 'id');
  const incidentId = textField(incident, 'name') ?? lastSegment(armId) ?? null;
  const alertIds = unique(
    alerts
      .flatMap((alert) => [textField(alert, 'systemAlertId'), textField(alert, 'providerAlertId')])
      .filter((id): id is string => id !== undefined),
  );
  const alertId = textField(alerts[0], 'systemAlertId') ?? incidentId ?? 'unknown';
  const provider = textField(properties, 'providerName')?.toLowerCase();
  const providerIncidentId = textField(properties, 'providerIncidentId');

  const normalized: NormalizedAlert = {
    source: 'sentinel-incident',
    alertId,
    incidentId,
    incidentArmId: armId ?? null,
    title: textField(properties, 'title') ?? '',
    severity: normalizeSeverity(field(properties, 'severity')),
    // Closed means handled; New and Active (also on an update event) still fire.
    firing: isFiringStatus(field(properties, 'status')),
    categories: categories(field(additional, 'tactics'), ...alerts.map((a) => field(a, 'tactics'))),
    mitreTechniques: mitreTechniques(
      field(additional, 'techniques'),
      ...alerts.flatMap((a) => [field(a, 'techniques'), field(a, 'subTechniques')]),
    ),
    ...devices.collected(),
    // The trigger names the workspace, never the Entra tenant: the tenant list maps one to the other.
    ...originOf(undefined, field(body, 'workspaceId')),
  };
  const related = alertIds.filter((id) => id !== alertId);
  if (related.length > 0) normalized.relatedAlertIds = related;
  if (providerIncidentId && provider && !SENTINEL_PROVIDERS.has(provider))
    normalized.providerIncidentId = providerIncidentId;
  return [normalized];
}

export const sentinelIncident: AlertFamily = {
  source: 'sentinel-incident',
  label: 'Microsoft Sentinel incident trigger',
  required: [hasText('objectSchemaType', 'Incident'), hasText('object.id'), hasRecord('object.properties')],
  parse,
};
