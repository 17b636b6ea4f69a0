/**
 * Which devices MDE can isolate, and how (docs/mde-api.md §9.1). Where the API page and the response
 * actions page disagree, the simulator follows the newer response-actions page (servers 2012 R2+
 * supported, macOS from client 101.98.84) and the API page's 1709 minimum for Selective on Windows 10.
 */
export type PlatformVerdict =
  | { supported: true }
  | { supported: false; code: 'OsPlatformNotSupported' | 'ClientVersionNotSupported'; message: string };

const LINUX_PLATFORMS = new Set([
  'linux',
  'ubuntu',
  'debian',
  'redhatenterpriselinux',
  'centos',
  'suselinuxenterpriseserver',
  'oraclelinux',
  'amazonlinux',
]);
const SERVER_PLATFORMS = new Set([
  'windowsserver2012r2',
  'windowsserver2016',
  'windowsserver2019',
  'windowsserver2022',
  'windowsserver2025',
  'azurestackhci',
]);
const MACOS_MIN_CLIENT = [101, 98, 84];

/** Windows 10 versions as a sortable number: 1709 → 1709, 21H2 → 2112. */
function windowsVersionRank(version: string | null | undefined): number {
  const text = version ?? '';
  if (/^\d{4}$/.test(text)) return Number(text);
  const half = /^(\d{2})H(\d)$/i.exec(text);
  return half ? Number(half[1]) * 100 + Number(half[2]) * 6 : 0;
}

function versionAtLeast(version: string | null | undefined, minimum: number[]): boolean {
  const parts = (version ?? '').split('.').map(Number);
  for (let i = 0; i < minimum.length; i++) {
    const part = parts[i] ?? 0;
    if (Number.isNaN(part)) return false;
    if (part !== minimum[i]) return part > minimum[i];
  }
  return true;
}

const unsupportedPlatform = (platform: string | null): PlatformVerdict => ({
  supported: false,
  code: 'OsPlatformNotSupported',
  message: `OS Platform ${platform ?? 'Unknown'} isn't supported for this action`,
});

/** `selective` asks about IsolationType Selective; release is checked like Full isolation. */
export function isolationSupport(
  machine: { osPlatform: string | null; version?: string | null; agentVersion?: string | null },
  selective: boolean,
): PlatformVerdict {
  const platform = (machine.osPlatform ?? '').toLowerCase();
  if (platform === 'windows11' || SERVER_PLATFORMS.has(platform)) return { supported: true };
  if (platform === 'windows10') {
    const needed = selective ? 1709 : 1703;
    return windowsVersionRank(machine.version) >= needed
      ? { supported: true }
      : unsupportedPlatform(machine.osPlatform);
  }
  if (LINUX_PLATFORMS.has(platform))
    return selective ? unsupportedPlatform(machine.osPlatform) : { supported: true };
  if (platform === 'macos') {
    if (versionAtLeast(machine.agentVersion, MACOS_MIN_CLIENT)) return { supported: true };
    return {
      supported: false,
      code: 'ClientVersionNotSupported',
      message: `Isolate is supported on client version ${MACOS_MIN_CLIENT.join('.')} and above`,
    };
  }
  return unsupportedPlatform(machine.osPlatform);
}
