/**
 * Entities of the Defender for Endpoint API as the client returns them (docs/mde-api.md
 * §7–8). Only fields the product reads are typed; the API sends more.
 */

export type HealthStatus =
  | 'Active'
  | 'Inactive'
  | 'ImpairedCommunication'
  | 'NoSensorData'
  | 'NoSensorDataImpairedCommunication'
  | 'Unknown';

export interface MachineIpAddress {
  ipAddress: string;
  macAddress?: string | null;
  type?: string;
  operationalStatus?: string;
}

export interface Machine {
  id: string;
  computerDnsName: string | null;
  firstSeen?: string;
  lastSeen: string;
  osPlatform: string | null;
  version?: string | null;
  osBuild?: number | null;
  osArchitecture?: string | null;
  agentVersion?: string | null;
  lastIpAddress?: string | null;
  lastExternalIpAddress?: string | null;
  healthStatus: HealthStatus | string;
  onboardingStatus?: string;
  rbacGroupId?: number | string | null;
  rbacGroupName?: string | null;
  riskScore?: 'None' | 'Informational' | 'Low' | 'Medium' | 'High' | null;
  exposureLevel?: 'None' | 'Low' | 'Medium' | 'High' | null;
  deviceValue?: 'Normal' | 'Low' | 'High' | null;
  aadDeviceId?: string | null;
  machineTags: string[];
  ipAddresses?: MachineIpAddress[];
  isAadJoined?: boolean;
}

export const MACHINE_ACTION_STATUSES = [
  'Pending',
  'InProgress',
  'Succeeded',
  'Failed',
  'TimeOut',
  'Cancelled',
] as const;
export type MachineActionStatus = (typeof MACHINE_ACTION_STATUSES)[number];
const TERMINAL_ACTION_STATUSES: readonly MachineActionStatus[] = [
  'Succeeded',
  'Failed',
  'TimeOut',
  'Cancelled',
];

export const MACHINE_ACTION_TYPES = [
  'Isolate',
  'Unisolate',
  'RunAntiVirusScan',
  'Offboard',
  'LiveResponse',
  'CollectInvestigationPackage',
  'StopAndQuarantineFile',
  'RestrictCodeExecution',
  'UnrestrictCodeExecution',
] as const;
export type MachineActionType = (typeof MACHINE_ACTION_TYPES)[number];

export interface MachineAction {
  id: string;
  type: MachineActionType;
  scope: string | null;
  requestor: string;
  requestorComment: string;
  status: MachineActionStatus;
  machineId: string;
  computerDnsName: string | null;
  creationDateTimeUtc: string;
  lastUpdateDateTimeUtc: string;
  cancellationRequestor?: string | null;
  cancellationComment?: string | null;
  cancellationDateTimeUtc?: string | null;
  errorHResult?: number;
  externalId?: string | null;
  requestSource?: string;
  title?: string | null;
  troubleshootInfo?: string | null;
}

export function isTerminal(status: MachineActionStatus): boolean {
  return TERMINAL_ACTION_STATUSES.includes(status);
}
