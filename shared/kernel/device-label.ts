/**
 * Naming a device two ways: for a person (a name first, as a report or a table reads best) and by
 * identity (the strongest identifier first, as the worker resolves a device and dedupes requests).
 */

/** The identifiers a device reference carries (the alerts' DeviceRef has these and more). */
export interface DeviceIdentifiers {
  mdeDeviceId?: string;
  fqdn?: string;
  hostname?: string;
  aadDeviceId?: string;
  ipAddresses?: string[];
}

/** What MDE's machine record adds, when it was looked up: its DNS name and its id. */
export interface MachineNames {
  computerDnsName?: string | null;
  machineId?: string | null;
}

/** The device's name for a person: the machine's DNS name, else the alert's FQDN or host name. */
export function deviceName(device: DeviceIdentifiers, machine: MachineNames = {}): string | undefined {
  return machine.computerDnsName ?? device.fqdn ?? device.hostname;
}

/** The device's id for a person who has no name: the machine id, else the alert's MDE or Entra id. */
export function deviceIdForDisplay(
  device: DeviceIdentifiers,
  machine: MachineNames = {},
): string | undefined {
  return machine.machineId ?? device.mdeDeviceId ?? device.aadDeviceId;
}

/** A name, else an id, else the addresses: the best a person can be told; undefined for `{}`. */
export function deviceDisplayName(device: DeviceIdentifiers, machine: MachineNames = {}): string | undefined {
  return deviceName(device, machine) ?? deviceIdForDisplay(device, machine) ?? device.ipAddresses?.join(', ');
}

export type IdentifierKind = 'mde' | 'fqdn' | 'aad' | 'host' | 'ip';

/**
 * The strongest identifier of a device, in the order the worker resolves them: an MDE id names one
 * machine, an FQDN or Entra id almost always does, a short hostname or an IP may not. Addresses are
 * sorted, so the same set is the same identifier. Undefined for `{}` (an alert decided whole).
 */
export function strongestIdentifier(
  device: DeviceIdentifiers,
): { kind: IdentifierKind; value: string } | undefined {
  if (device.mdeDeviceId) return { kind: 'mde', value: device.mdeDeviceId };
  if (device.fqdn) return { kind: 'fqdn', value: device.fqdn };
  if (device.aadDeviceId) return { kind: 'aad', value: device.aadDeviceId };
  if (device.hostname) return { kind: 'host', value: device.hostname };
  if (device.ipAddresses?.length) return { kind: 'ip', value: [...device.ipAddresses].sort().join(',') };
  return undefined;
}
