/**
 * Sentinel entities in both forms: the incident trigger's `{ kind, properties }` (camelCase) and the
 * alert trigger's / SecurityAlert row's flat `{ $id, Type, ... }` (PascalCase), where an entity appears
 * inline once and as `{ "$ref": id }` afterwards, possibly nested inside another entity (a process's
 * `Host`). Walking every inline object once covers both forms and every `$ref` target.
 */

import { isRecord, type JsonRecord } from '../kernel/records';
import { type DeviceCollector, type DeviceHints, mdeDeviceIdIn } from './devices';
import { field, recordField, text } from './fields';

/** A Host entity, its `additionalData` in the older (FQDN, AadDeviceId) or newer (DeviceDnsName) shape. */
function hostEntityHints(host: JsonRecord): DeviceHints {
  const extra = recordField(host, 'additionalData');
  return {
    mdeDeviceId: mdeDeviceIdIn(host) ?? mdeDeviceIdIn(extra),
    hostname: text(field(host, 'hostName')) ?? field(host, 'netBiosName'),
    dnsDomain: field(host, 'dnsDomain'),
    fqdn: text(field(extra, 'FQDN', 'DeviceDnsName')) ?? field(host, 'FQDN', 'DeviceDnsName'),
    aadDeviceId: text(field(extra, 'AadDeviceId')) ?? field(host, 'AadDeviceId'),
    // LastExternalIpAddress is the NAT's public address, shared by many devices: not this device's IP.
    ipAddresses: [field(extra, 'LastIpAddress') ?? field(host, 'LastIpAddress')],
    azureResourceId: field(host, 'azureID'),
  };
}

const MAX_DEPTH = 24;

function visit(value: unknown, depth: number, devices: DeviceCollector): void {
  if (depth > MAX_DEPTH) return;
  if (Array.isArray(value)) {
    for (const item of value) visit(item, depth + 1, devices);
    return;
  }
  if (!isRecord(value)) return;
  const kind = text(field(value, 'kind', 'Type'))?.toLowerCase();
  if (kind) {
    const properties = recordField(value, 'properties') ?? value;
    if (kind === 'host') devices.add(hostEntityHints(properties));
    // A Process or File entity may name its device only by id (MDE incidents): same device, one entry.
    else
      devices.add({
        mdeDeviceId: mdeDeviceIdIn(properties) ?? mdeDeviceIdIn(recordField(properties, 'additionalData')),
      });
  }
  for (const key of Object.keys(value)) {
    const child = value[key];
    if (typeof child === 'object' && child !== null) visit(child, depth + 1, devices);
  }
}

export function collectEntityDevices(entities: unknown[], devices: DeviceCollector): void {
  visit(entities, 0, devices);
}
