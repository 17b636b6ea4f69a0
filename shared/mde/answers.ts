/**
 * What the client makes of MDE's lists before handing them on. A server filter is only a
 * pre-selection (its matching rules are not documented to the letter), so the exact rule the
 * interface promises is applied here (web1 is not web10); and MDE documents no order for actions.
 */
import type { Machine, MachineAction } from './types';

/** Machines whose DNS name is `dnsName` (lower case), case-insensitively. */
export function withDnsName(machines: Machine[], dnsName: string): Machine[] {
  return machines.filter((m) => m.computerDnsName?.toLowerCase() === dnsName);
}

/** Machines named `hostname` (lower case), or named it followed by a dot and a domain. */
export function withHostname(machines: Machine[], hostname: string): Machine[] {
  return machines.filter((m) => {
    const dns = m.computerDnsName?.toLowerCase();
    return dns === hostname || (dns?.startsWith(`${hostname}.`) ?? false);
  });
}

/** Machines joined to Entra as `aadDeviceId` (lower case). */
export function withAadDeviceId(machines: Machine[], aadDeviceId: string): Machine[] {
  return machines.filter((m) => m.aadDeviceId?.toLowerCase() === aadDeviceId);
}

/** Machines carrying `tag`, or a tag starting with it, case-insensitively. */
export function withTag(machines: Machine[], tag: string, startsWith: boolean): Machine[] {
  const wanted = tag.toLowerCase();
  return machines.filter((m) =>
    m.machineTags.some((t) => (startsWith ? t.toLowerCase().startsWith(wanted) : t.toLowerCase() === wanted)),
  );
}

/** Sort key of an MDE timestamp; an unreadable one sorts last. */
function timeOf(timestamp: string): number {
  const time = Date.parse(timestamp);
  return Number.isNaN(time) ? Number.NEGATIVE_INFINITY : time;
}

/** Newest first, as the interface promises; MDE's default order is only implied by a doc example (docs/mde-api.md §12). */
export function newestFirst(actions: MachineAction[]): MachineAction[] {
  return [...actions].sort((a, b) => timeOf(b.creationDateTimeUtc) - timeOf(a.creationDateTimeUtc));
}

/** An entity as the interface returns it: without the OData envelope's context link. */
export function withoutODataContext<T>(entity: T & { '@odata.context'?: unknown }): T {
  const { '@odata.context': _context, ...rest } = entity;
  return rest as T;
}
