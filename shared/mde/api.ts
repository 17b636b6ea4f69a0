/**
 * What the rest of the product may ask of Defender for Endpoint. The axios client implements it;
 * dispatch and the CLI depend on this interface only.
 */
import type { MdeIsolationType } from '../kernel/vocabulary';
import type { Machine, MachineAction, MachineActionStatus, MachineActionType } from './types';

/** The API families that have their own quota (docs/mde-api.md §4). */
export const MDE_APIS = ['isolate', 'unisolate', 'machines', 'machineactions', 'cancel'] as const;
export type MdeApiName = (typeof MDE_APIS)[number];

/** Machines one list query may name: each adds a clause to the URL. */
export const MAX_MACHINES_PER_QUERY = 50;

/**
 * How far back this app reads a machine's isolate and release actions (dispatch/steps/action-history.ts):
 * far beyond MDE's 3-day retry (no action older is still open) and long enough to see the last isolate
 * or release of a device in normal use. The action ledger keeps its proof of what this app posted at
 * least this long (state/entity-store.ts), whatever the register's retention.
 */
export const HISTORY_LOOKBACK_DAYS = 30;

export interface MachineActionFilter {
  /** One machine, or any of several (at most MAX_MACHINES_PER_QUERY). */
  machineId?: string | string[];
  type?: MachineActionType | MachineActionType[];
  status?: MachineActionStatus | MachineActionStatus[];
  /** Only actions created at or after this moment (`creationDateTimeUtc ge`, filterable per the API). */
  createdSince?: Date;
  /**
   * At most this many actions; the API's page-size limit applies. MDE documents no order, so these
   * are not the newest ones: bound the read with `createdSince` instead. Answers come newest first.
   */
  top?: number;
}

export interface MdeApi {
  getMachine(machineId: string): Promise<Machine>;
  /** Exact, case-insensitive match on computerDnsName (an FQDN, or a bare name for workgroup devices). */
  findMachinesByDnsName(dnsName: string): Promise<Machine[]>;
  /** Machines whose computerDnsName is this short name, or starts with it followed by a dot. Never a substring. */
  findMachinesByHostname(hostname: string): Promise<Machine[]>;
  findMachinesByAadDeviceId(aadDeviceId: string): Promise<Machine[]>;
  /** Machines seen with this internal IP within ±15 minutes of `at` (default now). */
  findMachinesByIp(ip: string, at?: Date): Promise<Machine[]>;
  findMachinesByTag(tag: string, options?: { startsWith?: boolean }): Promise<Machine[]>;
  isolate(machineId: string, comment: string, isolationType: MdeIsolationType): Promise<MachineAction>;
  release(machineId: string, comment: string): Promise<MachineAction>;
  getMachineAction(actionId: string): Promise<MachineAction>;
  /** Cancels an action that is not final yet (docs/mde-api.md §7.4); the comment is recorded as MDE's cancellationComment. */
  cancelMachineAction(actionId: string, comment: string): Promise<MachineAction>;
  /** Every page of the answer (`@odata.nextLink` followed, each page one call), newest first. */
  listMachineActions(filter: MachineActionFilter): Promise<MachineAction[]>;
}
