/**
 * Family 1b: the Logic App "Microsoft Sentinel alert" trigger body and the `SecurityAlert` table row.
 * Same alert, two spellings: the row has `AlertSeverity`/`DisplayName` and JSON-string columns.
 */

import type { JsonRecord } from '../kernel/records';
import { DeviceCollector } from './devices';
import { type AlertFamily, anyOf, hasText } from './family';
import { field, listField, recordField, textField, unique } from './fields';
import type { NormalizedAlert } from './model';
import { categories, isFiringStatus, mitreTechniques, normalizeSeverity } from './normalize';
import { originOf } from './origin';
import { collectEntityDevices } from './sentinel-entities';

function parse(body: JsonRecord): NormalizedAlert[] {
  const alertId = textField(body, 'SystemAlertId') ?? 'unknown';
  const extended = recordField(body, 'ExtendedProperties');
  const devices = new DeviceCollector(body);
  // Entities is a JSON string in SecurityAlert rows, a list in the trigger body.
  collectEntityDevices(listField(body, 'Entities'), devices);

  const normalized: NormalizedAlert = {
    source: 'sentinel-alert',
    alertId,
    incidentId: null,
    incidentArmId: null,
    title: textField(body, 'AlertDisplayName', 'DisplayName', 'AlertName') ?? '',
    severity: normalizeSeverity(field(body, 'Severity', 'AlertSeverity')),
    firing: isFiringStatus(field(body, 'Status')),
    categories: categories(field(body, 'Intent'), field(body, 'Tactics'), field(extended, 'Category')),
    mitreTechniques: mitreTechniques(field(body, 'Techniques'), field(body, 'SubTechniques')),
    ...devices.collected(),
    // A row's TenantId column is the workspace id (docs/alert-schemas.md §11), never the Entra tenant.
    ...originOf(undefined, field(body, 'WorkspaceId', 'TenantId')),
  };
  const related = unique(
    [textField(body, 'ProviderAlertId'), textField(body, 'VendorOriginalId')].filter(
      (id): id is string => id !== undefined && id !== alertId,
    ),
  );
  if (related.length > 0) normalized.relatedAlertIds = related;
  return [normalized];
}

export const sentinelAlert: AlertFamily = {
  source: 'sentinel-alert',
  label: 'Microsoft Sentinel alert (alert trigger body or SecurityAlert row)',
  required: [hasText('SystemAlertId'), anyOf(hasText('Severity'), hasText('AlertSeverity'))],
  parse,
};
