/**
 * Family 4: Microsoft Graph security `alerts_v2`. Devices come only from evidence: `deviceEvidence`
 * fully, and any other evidence type that carries `mdeDeviceId` (process, file) by id.
 */

import { isRecord, type JsonRecord } from '../kernel/records';
import { defenderAlertFields } from './defender-fields';
import { DeviceCollector } from './devices';
import { type AlertFamily, anyOf, has, hasText } from './family';
import { field, listField, recordField, textField } from './fields';
import type { NormalizedAlert } from './model';
import { originOf } from './origin';

const DEVICE_EVIDENCE = '#microsoft.graph.security.deviceevidence';

function parse(body: JsonRecord): NormalizedAlert[] {
  const devices = new DeviceCollector(body);
  for (const evidence of listField(body, 'evidence').filter(isRecord)) {
    if (textField(evidence, '@odata.type')?.toLowerCase() === DEVICE_EVIDENCE) {
      devices.add({
        mdeDeviceId: field(evidence, 'mdeDeviceId'),
        fqdn: field(evidence, 'deviceDnsName'),
        aadDeviceId: field(evidence, 'azureAdDeviceId'),
        ipAddresses: listField(evidence, 'ipInterfaces'),
        azureResourceId: field(recordField(evidence, 'vmMetadata'), 'resourceId'),
      });
    } else {
      devices.add({ mdeDeviceId: field(evidence, 'mdeDeviceId') });
    }
  }
  const alertId = textField(body, 'id') ?? 'unknown';
  const providerAlertId = textField(body, 'providerAlertId');
  const normalized: NormalizedAlert = {
    source: 'graph-alert',
    alertId,
    ...defenderAlertFields(body),
    ...devices.collected(),
    ...originOf(field(body, 'tenantId'), undefined),
  };
  if (providerAlertId && providerAlertId !== alertId) normalized.relatedAlertIds = [providerAlertId];
  return [normalized];
}

export const graphAlert: AlertFamily = {
  source: 'graph-alert',
  label: 'Microsoft Graph security alert (alerts_v2)',
  required: [
    hasText('id'),
    has('severity'),
    anyOf(hasText('@odata.type', '#microsoft.graph.security.alert'), has('serviceSource')),
  ],
  parse,
};
