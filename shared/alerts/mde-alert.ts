/** Family 3: the Defender for Endpoint API alert resource (`/api/alerts`). Evidence names no device. */

import type { JsonRecord } from '../kernel/records';
import { defenderAlertFields } from './defender-fields';
import { DeviceCollector } from './devices';
import { type AlertFamily, has, hasText } from './family';
import { field, textField } from './fields';
import type { NormalizedAlert } from './model';
import { originOf } from './origin';

function parse(body: JsonRecord): NormalizedAlert[] {
  const devices = new DeviceCollector(body);
  devices.add({ mdeDeviceId: field(body, 'machineId'), fqdn: field(body, 'computerDnsName') });
  return [
    {
      source: 'mde-alert',
      alertId: textField(body, 'id') ?? 'unknown',
      ...defenderAlertFields(body),
      ...devices.collected(),
      ...originOf(field(body, 'aadTenantId'), undefined),
    },
  ];
}

export const mdeAlert: AlertFamily = {
  source: 'mde-alert',
  label: 'Defender for Endpoint API alert (/api/alerts)',
  required: [
    hasText('id'),
    has('machineId'),
    has('computerDnsName'),
    has('detectionSource'),
    has('severity'),
  ],
  parse,
};
