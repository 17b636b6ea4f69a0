/**
 * The simulated tenant's devices. A curated set covers every case the product must handle (substring
 * traps, duplicates, a domain controller, unsupported platforms, an offline laptop, a device whose
 * actions fail); a generator adds any number of ordinary devices for load tests. Ids and addresses
 * derive from the seed, so the same options always give the same fleet.
 */
import { createHash } from 'node:crypto';
import { DAY_MS } from '../shared/kernel/clock';
import type { Machine } from '../shared/mde/types';
import { type SeededRandom, seededRandom } from './random';

export type SimIsolationType = 'Full' | 'Selective' | 'UnManagedDevice';

/** What the simulator knows about a device beyond the API entity. */
export interface MachineTraits {
  /** Offline devices keep actions Pending until the offline timeout, then TimeOut. */
  offline: boolean;
  /** Every action on this device ends Failed. */
  failActions: boolean;
  isolation: SimIsolationType | null;
  /**
   * MDE refuses every isolate and release on the device: onboarded with restricted response actions
   * (high-value assets), or excluded by Defender (docs/mde-api.md §15). Absent: allowed.
   */
  refusesActions?: 'restricted' | 'excluded';
}

/** The entity as the API returns it: the typed fields plus the extra ones real responses carry. */
export type MachineEntity = Machine & Record<string, unknown>;

export interface SimMachine {
  entity: MachineEntity;
  traits: MachineTraits;
}

export interface FleetOptions {
  seed?: number;
  /** Leave out the curated devices (a generated-only fleet). */
  curated?: boolean;
  /** Number of ordinary generated devices added after the curated ones. */
  generate?: number;
  /** Share of generated devices that are offline, 0–1 (default 0.03). */
  offlineShare?: number;
}

export interface MachineSeed {
  name: string;
  osPlatform: string | null;
  version?: string | null;
  osBuild?: number | null;
  agentVersion?: string;
  tags?: string[];
  rbacGroup?: [number, string];
  deviceValue?: 'Normal' | 'Low' | 'High';
  healthStatus?: string;
  onboardingStatus?: string;
  /** Days since the last full report; offline devices are days old. */
  lastSeenDaysAgo?: number;
  firstSeenDaysAgo?: number;
  aadJoined?: boolean;
  /** Distinguishes two records of one DNS name. */
  instance?: number;
  traits?: Partial<MachineTraits>;
}

const DOMAIN = 'contoso.local';

/** The curated devices; names here are referred to by tests and the demo. */
export const CURATED_MACHINES: readonly MachineSeed[] = [
  {
    name: `ws-finance-01.${DOMAIN}`,
    osPlatform: 'Windows11',
    version: '23H2',
    osBuild: 22631,
    tags: ['Finance'],
  },
  { name: `ws-hr-02.${DOMAIN}`, osPlatform: 'Windows10', version: '22H2', osBuild: 19045, tags: ['HR'] },
  {
    name: `web1.${DOMAIN}`,
    osPlatform: 'WindowsServer2022',
    version: '21H2',
    osBuild: 20348,
    tags: ['WebFarm'],
    rbacGroup: [141, 'Servers'],
  },
  {
    name: `web10.${DOMAIN}`,
    osPlatform: 'WindowsServer2019',
    version: '1809',
    osBuild: 17763,
    tags: ['WebFarm'],
    rbacGroup: [141, 'Servers'],
  },
  {
    name: `dc01.${DOMAIN}`,
    osPlatform: 'WindowsServer2022',
    version: '21H2',
    osBuild: 20348,
    tags: ['DomainController', 'Tier0'],
    rbacGroup: [142, 'Tier 0 Servers'],
    deviceValue: 'High',
  },
  {
    name: `hv-host-01.${DOMAIN}`,
    osPlatform: 'WindowsServer2019',
    version: '1809',
    osBuild: 17763,
    tags: ['HyperVHost'],
    rbacGroup: [141, 'Servers'],
    deviceValue: 'High',
  },
  {
    name: `lnx-app-01.${DOMAIN}`,
    osPlatform: 'Ubuntu',
    version: '22.04',
    osBuild: null,
    agentVersion: '101.24082.0004',
    tags: ['Linux'],
    aadJoined: false,
  },
  {
    name: `mac-design-01.${DOMAIN}`,
    osPlatform: 'macOS',
    version: '14.5',
    osBuild: null,
    agentVersion: '101.24092.0002',
    aadJoined: false,
  },
  {
    name: `mac-old-02.${DOMAIN}`,
    osPlatform: 'macOS',
    version: '11.7',
    osBuild: null,
    agentVersion: '101.97.10',
    aadJoined: false,
  },
  { name: `legacy-pos-03.${DOMAIN}`, osPlatform: 'Windows7', version: null, osBuild: 7601, tags: ['POS'] },
  { name: `ws-old-1607.${DOMAIN}`, osPlatform: 'Windows10', version: '1607', osBuild: 14393 },
  {
    name: `laptop-offline-07.${DOMAIN}`,
    osPlatform: 'Windows10',
    version: '22H2',
    osBuild: 19045,
    healthStatus: 'Inactive',
    lastSeenDaysAgo: 5,
    traits: { offline: true },
  },
  // Two records of one name: an old onboarding that went stale, and the current one.
  {
    name: `kiosk-12.${DOMAIN}`,
    osPlatform: 'Windows10',
    version: '21H2',
    osBuild: 19044,
    healthStatus: 'Inactive',
    lastSeenDaysAgo: 20,
    firstSeenDaysAgo: 400,
    instance: 1,
    traits: { offline: true },
  },
  {
    name: `kiosk-12.${DOMAIN}`,
    osPlatform: 'Windows10',
    version: '22H2',
    osBuild: 19045,
    firstSeenDaysAgo: 19,
    instance: 2,
  },
  {
    name: `ws-fail-13.${DOMAIN}`,
    osPlatform: 'Windows11',
    version: '23H2',
    osBuild: 22631,
    traits: { failActions: true },
  },
  {
    name: `ws-isolated-09.${DOMAIN}`,
    osPlatform: 'Windows11',
    version: '22H2',
    osBuild: 22621,
    traits: { isolation: 'Full' },
  },
  // A workgroup device: its computerDnsName is a bare name.
  { name: 'wks-lab', osPlatform: 'Windows10', version: '22H2', osBuild: 19045, aadJoined: false },
  {
    name: `nas-01.${DOMAIN}`,
    osPlatform: null,
    version: null,
    osBuild: null,
    onboardingStatus: 'CanBeOnboarded',
    aadJoined: false,
  },
];

const hash = (text: string) => createHash('sha256').update(text).digest('hex');

function guidFrom(text: string): string {
  const h = hash(text);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function ipFrom(text: string): string {
  const bytes = Buffer.from(hash(text).slice(0, 6), 'hex');
  return `10.${bytes[0]}.${bytes[1]}.${Math.max(1, bytes[2] % 254)}`;
}

function macFrom(text: string): string {
  return hash(text).slice(0, 12).toUpperCase();
}

/** Builds the API entity of one device, deterministic for a given seed and start time. */
export function buildMachine(seed: MachineSeed, fleetSeed: number, nowMs: number): SimMachine {
  const key = `${fleetSeed}:${seed.name}:${seed.instance ?? 1}`;
  const id = hash(key).slice(0, 40);
  const ip = ipFrom(key);
  const offline = seed.traits?.offline ?? false;
  const lastSeenMs = nowMs - (seed.lastSeenDaysAgo ?? 0.1) * DAY_MS;
  const firstSeenMs = nowMs - (seed.firstSeenDaysAgo ?? 200) * DAY_MS;
  const aadJoined = seed.aadJoined ?? seed.osPlatform?.startsWith('Windows') ?? false;
  const entity: MachineEntity = {
    id,
    computerDnsName: seed.name,
    firstSeen: new Date(firstSeenMs).toISOString(),
    lastSeen: new Date(lastSeenMs).toISOString(),
    osPlatform: seed.osPlatform,
    osProcessor: 'x64',
    version: seed.version ?? null,
    osBuild: seed.osBuild ?? null,
    osArchitecture: '64-bit',
    agentVersion: seed.agentVersion ?? (seed.osPlatform?.startsWith('Windows') ? '10.8760.22621.1000' : null),
    lastIpAddress: ip,
    lastExternalIpAddress: '203.0.113.10',
    healthStatus: seed.healthStatus ?? 'Active',
    onboardingStatus: seed.onboardingStatus ?? 'Onboarded',
    rbacGroupId: seed.rbacGroup?.[0] ?? 140,
    rbacGroupName: seed.rbacGroup?.[1] ?? 'Workstations',
    riskScore: 'None',
    exposureLevel: 'Low',
    deviceValue: seed.deviceValue ?? 'Normal',
    aadDeviceId: aadJoined ? guidFrom(`aad:${key}`) : null,
    isAadJoined: aadJoined,
    machineTags: seed.tags ?? [],
    ipAddresses: [
      { ipAddress: ip, macAddress: macFrom(key), type: 'Ethernet', operationalStatus: 'Up' },
      { ipAddress: '127.0.0.1', macAddress: null, type: 'SoftwareLoopback', operationalStatus: 'Up' },
    ],
    mergedIntoMachineId: null,
    isPotentialDuplication: (seed.instance ?? 1) > 1,
    isExcluded: seed.traits?.refusesActions === 'excluded',
    exclusionReason: seed.traits?.refusesActions === 'excluded' ? 'Other' : null,
    defenderAvStatus: 'Updated',
    managedBy: 'Unknown',
    managedByStatus: 'Unknown',
    vmMetadata: null,
  };
  return {
    entity,
    traits: {
      offline,
      failActions: seed.traits?.failActions ?? false,
      isolation: seed.traits?.isolation ?? null,
      ...(seed.traits?.refusesActions && { refusesActions: seed.traits.refusesActions }),
    },
  };
}

const GENERATED_PLATFORMS: readonly Pick<
  MachineSeed,
  'osPlatform' | 'version' | 'osBuild' | 'agentVersion'
>[] = [
  { osPlatform: 'Windows11', version: '23H2', osBuild: 22631 },
  { osPlatform: 'Windows11', version: '24H2', osBuild: 26100 },
  { osPlatform: 'Windows10', version: '22H2', osBuild: 19045 },
  { osPlatform: 'Windows10', version: '21H2', osBuild: 19044 },
  { osPlatform: 'WindowsServer2022', version: '21H2', osBuild: 20348 },
  { osPlatform: 'Ubuntu', version: '22.04', osBuild: null, agentVersion: '101.24082.0004' },
  { osPlatform: 'macOS', version: '14.5', osBuild: null, agentVersion: '101.24092.0002' },
];
const GENERATED_WEIGHTS = [30, 10, 30, 10, 10, 5, 5];

function generatedSeed(index: number, random: SeededRandom, offlineShare: number): MachineSeed {
  let roll = random.int(1, 100);
  let platform = GENERATED_PLATFORMS[0];
  for (let i = 0; i < GENERATED_PLATFORMS.length; i++) {
    roll -= GENERATED_WEIGHTS[i];
    if (roll <= 0) {
      platform = GENERATED_PLATFORMS[i];
      break;
    }
  }
  const offline = random.chance(offlineShare);
  return {
    ...platform,
    name: `gen-${String(index).padStart(5, '0')}.fleet.${DOMAIN}`,
    tags: [random.pick(['Sales', 'Engineering', 'Support', 'Operations'])],
    healthStatus: offline ? 'Inactive' : 'Active',
    lastSeenDaysAgo: offline ? random.int(2, 25) : 0.1,
    traits: { offline },
  };
}

export function buildFleet(options: FleetOptions, nowMs: number): SimMachine[] {
  const seed = options.seed ?? 1;
  const random = seededRandom(seed);
  const seeds = [...(options.curated === false ? [] : CURATED_MACHINES)];
  for (let i = 1; i <= (options.generate ?? 0); i++)
    seeds.push(generatedSeed(i, random, options.offlineShare ?? 0.03));
  return seeds.map((s) => buildMachine(s, seed, nowMs));
}
