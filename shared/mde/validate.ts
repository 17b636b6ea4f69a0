/**
 * The checks every argument passes before a request is built: a value that fails one never leaves
 * the process (RefusedBeforeSendingError), so an alert payload cannot steer a URL path or a query.
 * Each check answers the value in the form requests.ts sends.
 */
import { MDE_ISOLATION_TYPES, type MdeIsolationType } from '../kernel/vocabulary';
import { MAX_MACHINES_PER_QUERY, type MachineActionFilter } from './api';
import { RefusedBeforeSendingError } from './errors';
import { canonicalGuid, canonicalIp, canonicalMachineId } from './ids';
import { callOf, type MachineActionQuery, type MdeOperation } from './requests';
import {
  MACHINE_ACTION_STATUSES,
  MACHINE_ACTION_TYPES,
  type MachineActionStatus,
  type MachineActionType,
} from './types';

/** The MDE list maximum for `$top` (docs/mde-api.md §7.3, §8.3). */
export const MAX_PAGE_SIZE = 10_000;

function refuse(operation: MdeOperation, field: string, value: unknown, expected: string): never {
  const { api } = callOf(operation);
  throw new RefusedBeforeSendingError(field, String(value), expected, { operation, api });
}

function requireShape(
  operation: MdeOperation,
  field: string,
  value: string,
  canonical: (value: string) => string | null,
  expected: string,
): string {
  return canonical(value) ?? refuse(operation, field, value, expected);
}

/** The machine id in lower case. */
export function requireMachineId(operation: MdeOperation, machineId: string): string {
  return requireShape(operation, 'machineId', machineId, canonicalMachineId, 'an MDE machine id (40 hex)');
}

/** A GUID in lower case; `expected` names what it identifies. */
export function requireGuid(operation: MdeOperation, field: string, value: string, expected: string): string {
  return requireShape(operation, field, value, canonicalGuid, expected);
}

export function requireIp(operation: MdeOperation, ip: string): string {
  return requireShape(operation, 'ip', ip, canonicalIp, 'an IPv4 or IPv6 address');
}

function requireName(operation: MdeOperation, field: string, value: string, allowDots: boolean): string {
  const name = typeof value === 'string' ? value.trim() : '';
  const valid = name.length > 0 && name.length <= 255 && !/[\s\p{Cc}]/u.test(name);
  if (!valid || (!allowDots && name.includes('.')))
    refuse(
      operation,
      field,
      value,
      allowDots
        ? 'a DNS name (1-255 characters, no spaces)'
        : 'a short host name without dots (use the DNS name lookup for an FQDN)',
    );
  return name.toLowerCase();
}

/** The DNS name trimmed, in lower case. */
export function requireDnsName(operation: MdeOperation, dnsName: string): string {
  return requireName(operation, 'dnsName', dnsName, true);
}

/** The short host name trimmed, in lower case. */
export function requireHostname(operation: MdeOperation, hostname: string): string {
  return requireName(operation, 'hostname', hostname, false);
}

/** The tag trimmed, case kept: MDE's tag lookup is sent what the caller gave. */
export function requireTag(operation: MdeOperation, tag: string): string {
  const value = typeof tag === 'string' ? tag.trim() : '';
  return value || refuse(operation, 'tag', tag, 'a non-empty tag');
}

export function requireDate(operation: MdeOperation, field: string, at: Date): Date {
  return at instanceof Date && !Number.isNaN(at.getTime())
    ? at
    : refuse(operation, field, at, 'a valid date');
}

/** The comment trimmed. */
export function requireComment(operation: MdeOperation, comment: string): string {
  const text = typeof comment === 'string' ? comment.trim() : '';
  return text || refuse(operation, 'comment', comment, 'a non-empty comment (MDE requires one)');
}

export function requireIsolationType(
  operation: MdeOperation,
  isolationType: MdeIsolationType,
): MdeIsolationType {
  if ((MDE_ISOLATION_TYPES as readonly string[]).includes(isolationType)) return isolationType;
  return refuse(operation, 'isolationType', isolationType, MDE_ISOLATION_TYPES.join(', '));
}

function requireEnumValues<T extends string>(
  field: string,
  given: T | T[] | undefined,
  allowed: readonly string[],
): T[] {
  const values = given === undefined ? [] : Array.isArray(given) ? given : [given];
  for (const value of values)
    if (!allowed.includes(value)) refuse('listMachineActions', field, value, `one of ${allowed.join(', ')}`);
  return values;
}

export function requirePageSize(operation: MdeOperation, top: number): number {
  if (Number.isInteger(top) && top >= 1 && top <= MAX_PAGE_SIZE) return top;
  return refuse(operation, 'top', top, `a whole number from 1 to ${MAX_PAGE_SIZE}`);
}

/** One machine id or a non-empty list of at most MAX_MACHINES_PER_QUERY; an empty list would match every machine. */
function requireMachineIds(operation: MdeOperation, given: string | string[] | undefined): string[] {
  if (given === undefined) return [];
  const ids = Array.isArray(given) ? given : [given];
  if (ids.length === 0 || ids.length > MAX_MACHINES_PER_QUERY)
    refuse(operation, 'machineId', ids.length, `1 to ${MAX_MACHINES_PER_QUERY} machine ids`);
  return ids.map((id) => requireMachineId(operation, id));
}

export function requireMachineActionQuery(filter: MachineActionFilter): MachineActionQuery {
  const operation = 'listMachineActions';
  return {
    machineIds: requireMachineIds(operation, filter.machineId),
    types: requireEnumValues<MachineActionType>('type', filter.type, MACHINE_ACTION_TYPES),
    statuses: requireEnumValues<MachineActionStatus>('status', filter.status, MACHINE_ACTION_STATUSES),
    createdSince:
      filter.createdSince === undefined
        ? undefined
        : requireDate(operation, 'createdSince', filter.createdSince),
    top: filter.top === undefined ? undefined : requirePageSize(operation, filter.top),
  };
}
