/**
 * The HTTP request of each MDE operation (docs/mde-api.md §5–8), built from arguments validate.ts has
 * already checked. Pure: nothing here sends, so every path, query and body is tested as data.
 */

import type { JsonRequest } from '../http/json-client';
import type { MdeIsolationType } from '../kernel/vocabulary';
import type { MdeApi, MdeApiName } from './api';
import type { FailedCall } from './error-mapping';
import { odataAnyOf, odataDateTime, odataEq, odataString } from './odata';
import type { MachineActionStatus, MachineActionType } from './types';

export type MdeOperation = keyof MdeApi;

export interface MdeCall extends FailedCall {
  operation: MdeOperation;
}

export interface MdeRequest extends Omit<JsonRequest, 'method'> {
  call: MdeCall;
}

/** Which quota family each operation spends (docs/mde-api.md §4). */
const MDE_OPERATION_APIS: Readonly<Record<MdeOperation, MdeApiName>> = {
  getMachine: 'machines',
  findMachinesByDnsName: 'machines',
  findMachinesByHostname: 'machines',
  findMachinesByAadDeviceId: 'machines',
  findMachinesByIp: 'machines',
  findMachinesByTag: 'machines',
  isolate: 'isolate',
  release: 'unisolate',
  getMachineAction: 'machineactions',
  listMachineActions: 'machineactions',
  cancelMachineAction: 'cancel',
};

/** How many machines a lookup by name or device id asks for. */
const LOOKUP_TOP = 100;

export function callOf(operation: MdeOperation): MdeCall {
  return {
    api: MDE_OPERATION_APIS[operation],
    operation,
    method:
      operation === 'isolate' || operation === 'release' || operation === 'cancelMachineAction'
        ? 'POST'
        : 'GET',
  };
}

export function getMachineRequest(machineId: string): MdeRequest {
  return { call: callOf('getMachine'), path: `/api/machines/${machineId}` };
}

/** GET /api/machines with `filter`: the server's pre-selection, which answers.ts narrows to the exact rule. */
function machinesWhere(operation: MdeOperation, filter: string): MdeRequest {
  return {
    call: callOf(operation),
    path: '/api/machines',
    params: { $filter: filter, $top: String(LOOKUP_TOP) },
  };
}

/** `dnsName` in lower case. */
export function machinesByDnsNameRequest(dnsName: string): MdeRequest {
  return machinesWhere('findMachinesByDnsName', odataEq('computerDnsName', dnsName));
}

/** `hostname` in lower case: the name itself, or it followed by a dot. */
export function machinesByHostnameRequest(hostname: string): MdeRequest {
  return machinesWhere(
    'findMachinesByHostname',
    `${odataEq('computerDnsName', hostname)} or startswith(computerDnsName,${odataString(`${hostname}.`)})`,
  );
}

export function machinesByAadDeviceIdRequest(aadDeviceId: string): MdeRequest {
  return machinesWhere('findMachinesByAadDeviceId', odataEq('aadDeviceId', aadDeviceId));
}

export function machinesByIpRequest(ip: string, at: Date): MdeRequest {
  return {
    call: callOf('findMachinesByIp'),
    path: `/api/machines/findbyip(ip=${odataString(ip)},timestamp=${odataDateTime(at)})`,
  };
}

export function machinesByTagRequest(tag: string, startsWith: boolean): MdeRequest {
  return {
    call: callOf('findMachinesByTag'),
    path: '/api/machines/findbytag',
    params: { tag, useStartsWithFilter: String(startsWith) },
  };
}

export function isolateRequest(
  machineId: string,
  comment: string,
  isolationType: MdeIsolationType,
): MdeRequest {
  return {
    call: callOf('isolate'),
    path: `/api/machines/${machineId}/isolate`,
    body: { Comment: comment, IsolationType: isolationType },
  };
}

export function releaseRequest(machineId: string, comment: string): MdeRequest {
  return {
    call: callOf('release'),
    path: `/api/machines/${machineId}/unisolate`,
    body: { Comment: comment },
  };
}

export function getMachineActionRequest(actionId: string): MdeRequest {
  return { call: callOf('getMachineAction'), path: `/api/machineactions/${actionId}` };
}

export function cancelMachineActionRequest(actionId: string, comment: string): MdeRequest {
  return {
    call: callOf('cancelMachineAction'),
    path: `/api/machineactions/${actionId}/cancel`,
    body: { Comment: comment },
  };
}

/** The checked form of a MachineActionFilter: no empty lists, valid dates and page size. */
export interface MachineActionQuery {
  machineIds: readonly string[];
  types: readonly MachineActionType[];
  statuses: readonly MachineActionStatus[];
  createdSince?: Date;
  top?: number;
}

export function listMachineActionsRequest(query: MachineActionQuery): MdeRequest {
  const clauses: string[] = [];
  if (query.machineIds.length > 0) clauses.push(odataAnyOf('machineId', query.machineIds));
  if (query.types.length > 0) clauses.push(odataAnyOf('type', query.types));
  if (query.statuses.length > 0) clauses.push(odataAnyOf('status', query.statuses));
  if (query.createdSince !== undefined)
    clauses.push(`creationDateTimeUtc ge ${odataDateTime(query.createdSince)}`);
  const params: Record<string, string> = {};
  if (clauses.length > 0) params.$filter = clauses.join(' and ');
  if (query.top !== undefined) params.$top = String(query.top);
  return { call: callOf('listMachineActions'), path: '/api/machineactions', params };
}
