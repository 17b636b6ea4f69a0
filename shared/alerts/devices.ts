/**
 * Device identifiers as the sources give them, validated and merged into one DeviceRef per distinct
 * device (design §5). Parsers hand over hints from named fields only; nothing here guesses a device from
 * an arbitrary 40-hex string (file SHA1 hashes look the same) or from an arbitrary IP (remote parties).
 */
import { isIP } from 'node:net';
import { field, text } from './fields';
import { collectFileHashes } from './file-hashes';
import type { DeviceRef } from './model';

const MDE_DEVICE_ID = /^[0-9a-f]{40}$/i;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// A DNS name: labels of letters, digits, hyphens and underscores; no spaces, slashes or @ (user names, ARM ids).
const DNS_NAME = /^[a-z0-9_](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9_](?:[a-z0-9_-]{0,62}))*\.?$/i;

/** What a parser read for one device; every field optional and unvalidated. */
export interface DeviceHints {
  mdeDeviceId?: unknown;
  fqdn?: unknown;
  hostname?: unknown;
  /** DNS suffix: with `hostname` it forms the FQDN (Sentinel Host entities). */
  dnsDomain?: unknown;
  aadDeviceId?: unknown;
  ipAddresses?: unknown[];
  azureResourceId?: unknown;
}

function mdeDeviceIdOf(value: unknown): string | undefined {
  const id = text(value);
  return id && MDE_DEVICE_ID.test(id) ? id.toLowerCase() : undefined;
}

/** Every spelling of the MDE device id seen in the field (design §5, alert-schemas §1a). */
const MDE_DEVICE_ID_FIELDS = ['MdatpDeviceId', 'MdeDeviceId', 'machineId', 'DeviceId'] as const;

/** The first valid MDE device id among the known spellings, any case. */
export function mdeDeviceIdIn(record: unknown): string | undefined {
  for (const name of MDE_DEVICE_ID_FIELDS) {
    const id = mdeDeviceIdOf(field(record, name));
    if (id) return id;
  }
  return undefined;
}

function guidOf(value: unknown): string | undefined {
  const id = text(value);
  return id && GUID.test(id) ? id.toLowerCase() : undefined;
}

/** An IPv4 address passes as a dotted name, but in a name field it is a remote party, never the device. */
function dnsNameOf(value: unknown): string | undefined {
  const name = text(value);
  return name && name.length <= 253 && DNS_NAME.test(name) && !isIP(name)
    ? name.toLowerCase().replace(/\.$/, '')
    : undefined;
}

function ipOf(value: unknown): string | undefined {
  const ip = text(value);
  return ip && isIP(ip) ? ip.toLowerCase() : undefined;
}

function azureResourceIdOf(value: unknown): string | undefined {
  const id = text(value);
  return id && /^\/subscriptions\/[^/]+\/resourcegroups\/.+\/virtualmachines\/[^/]+$/i.test(id)
    ? id
    : undefined;
}

function shortName(name: string | undefined): string | undefined {
  return name?.split('.')[0];
}

/**
 * Builds a validated DeviceRef, or null when nothing MDE can look a device up by is given: an IP or an
 * Azure VM id alone does not identify an MDE machine.
 */
export function deviceFromHints(hints: DeviceHints): DeviceRef | null {
  const device: DeviceRef = {};
  const mdeDeviceId = mdeDeviceIdOf(hints.mdeDeviceId);
  const aadDeviceId = guidOf(hints.aadDeviceId);
  let hostname = dnsNameOf(hints.hostname);
  let fqdn = dnsNameOf(hints.fqdn);
  const domain = dnsNameOf(hints.dnsDomain);
  if (hostname?.includes('.')) {
    // Some sources put the FQDN in the host name field.
    fqdn ??= hostname;
    hostname = shortName(hostname);
  } else if (hostname && domain && !fqdn) {
    fqdn = `${hostname}.${domain}`;
  }
  const ipAddresses = [...new Set((hints.ipAddresses ?? []).map(ipOf).filter((ip) => ip !== undefined))];
  const azureResourceId = azureResourceIdOf(hints.azureResourceId);

  if (mdeDeviceId) device.mdeDeviceId = mdeDeviceId;
  if (fqdn) device.fqdn = fqdn;
  if (hostname) device.hostname = hostname;
  if (aadDeviceId) device.aadDeviceId = aadDeviceId;
  if (ipAddresses.length > 0) device.ipAddresses = ipAddresses;
  if (azureResourceId) device.azureResourceId = azureResourceId;
  const identified = mdeDeviceId || fqdn || hostname || aadDeviceId;
  return identified ? device : null;
}

/**
 * Same device when the strongest identifier both refs carry agrees. Two different MDE ids are two
 * devices even if their names match (names are reused; ids are not).
 */
function sameDevice(a: DeviceRef, b: DeviceRef): boolean {
  if (a.mdeDeviceId && b.mdeDeviceId) return a.mdeDeviceId === b.mdeDeviceId;
  if (a.aadDeviceId && b.aadDeviceId) return a.aadDeviceId === b.aadDeviceId;
  if (a.fqdn && b.fqdn) return a.fqdn === b.fqdn;
  const nameA = a.hostname ?? shortName(a.fqdn);
  const nameB = b.hostname ?? shortName(b.fqdn);
  return nameA !== undefined && nameA === nameB;
}

function merge(into: DeviceRef, from: DeviceRef): void {
  into.mdeDeviceId ??= from.mdeDeviceId;
  into.fqdn ??= from.fqdn;
  into.hostname ??= from.hostname;
  into.aadDeviceId ??= from.aadDeviceId;
  into.azureResourceId ??= from.azureResourceId;
  if (from.ipAddresses) into.ipAddresses = [...new Set([...(into.ipAddresses ?? []), ...from.ipAddresses])];
}

/** Collects the devices of one alert: an entity and its `$ref`s, or a host in several evidence rows, is one entry. */
export class DeviceCollector {
  private readonly devices: DeviceRef[] = [];
  private readonly fileHashes = new Set<string>();

  /** `payloads`: the alert's raw parts; any SHA1 they name as a file hash is refused as a device id. */
  constructor(...payloads: unknown[]) {
    for (const payload of payloads) collectFileHashes(payload, this.fileHashes);
  }

  add(hints: DeviceHints): void {
    const id = mdeDeviceIdOf(hints.mdeDeviceId);
    const isFileHash = id !== undefined && this.fileHashes.has(id);
    const device = deviceFromHints(isFileHash ? { ...hints, mdeDeviceId: undefined } : hints);
    if (!device) return;
    const matches = this.devices.filter((known) => sameDevice(known, device));
    if (matches.length === 0) {
      this.devices.push(device);
      return;
    }
    const [first, ...others] = matches;
    merge(first, device);
    // The new ref may bridge two entries seen before (an id on one, a name on the other).
    for (const other of others) {
      if (!sameDevice(first, other)) continue;
      merge(first, other);
      this.devices.splice(this.devices.indexOf(other), 1);
    }
  }

  list(): DeviceRef[] {
    return this.devices;
  }
}
