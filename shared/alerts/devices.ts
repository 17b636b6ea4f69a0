/**
 * Device identifiers as the sources give them, validated and merged into one DeviceRef per distinct
 * device (docs/architecture.md §5). Parsers hand over hints from named fields only; nothing here guesses a device from
 * an arbitrary 40-hex string (file SHA1 hashes look the same) or from an arbitrary IP (remote parties).
 */
import { isIP } from 'node:net';
import { GUID, MDE_DEVICE_ID } from '../kernel/ids';
import { field, text } from './fields';
import { collectFileHashes } from './file-hashes';
import { type DeviceRef, MAX_DEVICES_PER_ALERT, type NormalizedAlert } from './model';

/** Informational only (never used to find a device): a handful is enough for a person reading it. */
const MAX_IPS_PER_DEVICE = 16;
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

/** Every spelling of the MDE device id seen in the field (docs/architecture.md §5, docs/alert-schemas.md §1a). */
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

/**
 * A host name or FQDN, lower case, without a trailing dot. An IP address passes as a dotted name (and
 * `10.99.99.99.` with its root dot), but in a name field it is a remote party, never the device: the
 * dot is stripped before the IP test, and a name whose first label is all digits is never a host name
 * (MDE would look it up as a prefix of an address-like name).
 */
function hostNameOf(value: unknown): string | undefined {
  const name = dnsNameOf(value);
  return name && !/^\d+$/.test(name.split('.')[0]) ? name : undefined;
}

function dnsNameOf(value: unknown): string | undefined {
  const name = text(value);
  if (!name || name.length > 253 || !DNS_NAME.test(name)) return undefined;
  const bare = name.toLowerCase().replace(/\.$/, '');
  return isIP(bare) ? undefined : bare;
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
 * Azure VM id alone does not identify an MDE machine in an alert (a person's order by IP:
 * `deviceFromIp`).
 */
export function deviceFromHints(hints: DeviceHints): DeviceRef | null {
  const device: DeviceRef = {};
  const mdeDeviceId = mdeDeviceIdOf(hints.mdeDeviceId);
  const aadDeviceId = guidOf(hints.aadDeviceId);
  let hostname = hostNameOf(hints.hostname);
  let fqdn = hostNameOf(hints.fqdn);
  const domain = dnsNameOf(hints.dnsDomain);
  if (hostname?.includes('.')) {
    // Some sources put the FQDN in the host name field.
    fqdn ??= hostname;
    hostname = shortName(hostname);
  } else if (hostname && domain && !fqdn) {
    fqdn = `${hostname}.${domain}`;
  }
  const ips = (hints.ipAddresses ?? []).map(ipOf).filter((ip) => ip !== undefined);
  const ipAddresses = [...new Set(ips)].slice(0, MAX_IPS_PER_DEVICE);
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
 * A device named by its IP alone, as a person may in a manual order (`ip`), or null when `value` is
 * not an IP address. Unlike an alert's IP entity (often the attacker's address), the person means
 * the device on that IP: the resolver looks it up by IP and accepts exactly one machine.
 */
export function deviceFromIp(value: unknown): DeviceRef | null {
  const ip = ipOf(value);
  return ip ? { ipAddresses: [ip] } : null;
}

/**
 * The identifiers two refs are compared by, strongest first. Two refs are the same device when they
 * agree on the strongest identifier both carry: two different MDE ids are two devices even if their
 * names match (names are reused; ids are not).
 */
const IDENTIFIERS = ['mdeDeviceId', 'aadDeviceId', 'fqdn', 'name'] as const;
type Identifier = (typeof IDENTIFIERS)[number];

function identifier(device: DeviceRef, which: Identifier): string | undefined {
  return which === 'name' ? (device.hostname ?? shortName(device.fqdn)) : device[which];
}

function sameDevice(a: DeviceRef, b: DeviceRef): boolean {
  for (const which of IDENTIFIERS) {
    const [idA, idB] = [identifier(a, which), identifier(b, which)];
    if (idA !== undefined && idB !== undefined) return idA === idB;
  }
  return false;
}

/**
 * Index keys of a ref: each identifier it carries, with the set of stronger identifiers it carries
 * too. A ref matches on `fqdn` only entries that share no stronger identifier with it, so a lookup
 * asks only for keys whose stronger set avoids the ref's own: every entry found is a true match, and
 * merging stays linear however many devices share a name.
 */
function indexKeys(device: DeviceRef): string[] {
  const keys: string[] = [];
  IDENTIFIERS.forEach((which, rank) => {
    const id = identifier(device, which);
    const stronger = IDENTIFIERS.slice(0, rank).filter((s) => identifier(device, s) !== undefined);
    if (id !== undefined) keys.push(`${which}=${id}|${stronger.join(',')}`);
  });
  return keys;
}

function lookupKeys(device: DeviceRef): string[] {
  const keys: string[] = [];
  IDENTIFIERS.forEach((which, rank) => {
    const id = identifier(device, which);
    if (id === undefined) return;
    const absent = IDENTIFIERS.slice(0, rank).filter((s) => identifier(device, s) === undefined);
    // Every subset of the stronger identifiers this ref lacks (at most 8), in IDENTIFIERS order.
    for (let mask = 0; mask < 1 << absent.length; mask++) {
      const subset = absent.filter((_, bit) => mask & (1 << bit));
      keys.push(`${which}=${id}|${subset.join(',')}`);
    }
  });
  return keys;
}

function merge(into: DeviceRef, from: DeviceRef): void {
  into.mdeDeviceId ??= from.mdeDeviceId;
  into.fqdn ??= from.fqdn;
  into.hostname ??= from.hostname;
  into.aadDeviceId ??= from.aadDeviceId;
  into.azureResourceId ??= from.azureResourceId;
  if (from.ipAddresses) {
    const ips = new Set(into.ipAddresses);
    for (const ip of from.ipAddresses) if (ips.size < MAX_IPS_PER_DEVICE) ips.add(ip);
    into.ipAddresses = [...ips];
  }
}

/**
 * Collects the devices of one alert: an entity and its `$ref`s, or a host in several evidence rows, is
 * one entry. Indexed, so an alert naming tens of thousands of devices costs linear time; past
 * MAX_DEVICES_PER_ALERT distinct devices, further ones are only counted (the alert is then decided
 * whole, see NormalizedAlert.truncated).
 */
export class DeviceCollector {
  /** Entries in the order first seen; a Set so that a bridged entry leaves in constant time. */
  private readonly devices = new Set<DeviceRef>();
  private readonly order = new Map<DeviceRef, number>();
  private readonly index = new Map<string, Set<DeviceRef>>();
  private readonly keysOf = new Map<DeviceRef, string[]>();
  /** Strongest identifier of each distinct device beyond the cap. */
  private readonly beyondCap = new Set<string>();
  private readonly fileHashes = new Set<string>();

  /** `payloads`: the alert's decoded parts; any SHA1 they name as a file hash is refused as a device id. */
  constructor(...payloads: unknown[]) {
    for (const payload of payloads) collectFileHashes(payload, this.fileHashes);
  }

  add(hints: DeviceHints): void {
    const id = mdeDeviceIdOf(hints.mdeDeviceId);
    const isFileHash = id !== undefined && this.fileHashes.has(id);
    const device = deviceFromHints(isFileHash ? { ...hints, mdeDeviceId: undefined } : hints);
    if (!device) return;
    const matches = this.matchesOf(device);
    if (matches.length === 0) {
      if (this.devices.size < MAX_DEVICES_PER_ALERT) this.insert(device);
      else this.beyondCap.add(indexKeys(device)[0]);
      return;
    }
    const [first, ...others] = matches;
    this.update(first, () => merge(first, device));
    // The new ref may bridge two entries seen before (an id on one, a name on the other).
    for (const other of others) {
      if (!sameDevice(first, other)) continue;
      this.remove(other);
      this.update(first, () => merge(first, other));
    }
  }

  list(): DeviceRef[] {
    return [...this.devices];
  }

  /** The devices, and when more were named than an alert may carry, how many (for NormalizedAlert). */
  collected(): Pick<NormalizedAlert, 'devices' | 'truncated'> {
    const devices = this.list();
    if (this.beyondCap.size === 0) return { devices };
    // Those beyond the cap are counted by their strongest identifier, without merging.
    return { devices, truncated: { devices: devices.length + this.beyondCap.size } };
  }

  /** Entries that are the same device as `device`, in the order first seen. */
  private matchesOf(device: DeviceRef): DeviceRef[] {
    const found = new Set<DeviceRef>();
    for (const key of lookupKeys(device)) for (const entry of this.index.get(key) ?? []) found.add(entry);
    return [...found].sort((a, b) => (this.order.get(a) ?? 0) - (this.order.get(b) ?? 0));
  }

  private insert(device: DeviceRef): void {
    this.devices.add(device);
    this.order.set(device, this.order.size);
    this.reindex(device);
  }

  private remove(device: DeviceRef): void {
    this.devices.delete(device);
    for (const key of this.keysOf.get(device) ?? []) this.index.get(key)?.delete(device);
    this.keysOf.delete(device);
  }

  private update(device: DeviceRef, change: () => void): void {
    for (const key of this.keysOf.get(device) ?? []) this.index.get(key)?.delete(device);
    change();
    this.reindex(device);
  }

  private reindex(device: DeviceRef): void {
    const keys = indexKeys(device);
    for (const key of keys) {
      let entries = this.index.get(key);
      if (!entries) {
        entries = new Set();
        this.index.set(key, entries);
      }
      entries.add(device);
    }
    this.keysOf.set(device, keys);
  }
}
