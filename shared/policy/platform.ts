/**
 * Which isolation MDE can carry out on a machine (docs/mde-api.md §9.1). Checked before any POST so an
 * unsupported device is skipped with a reason instead of failing at the API.
 *
 * Sources disagree; where they do we follow the newer response-actions page for platforms (Windows
 * Server 2012 R2+, macOS Selective and its minimum client) and the stricter API page for Windows 10
 * Selective (1709, not 1703).
 */
import type { MdeIsolationType } from '../kernel/vocabulary';
import type { Machine } from '../mde/types';

const LINUX =
  /^(linux|ubuntu|debian|centos|redhat\w*|rhel|suse|sles|oraclelinux|amazonlinux|fedora|almalinux|rockylinux|mariner)$/i;
const MACOS = /^(macos|mac ?os ?x?|osx)$/i;
const WINDOWS_SERVER = /^windowsserver(\d{4})(r2)?$/i;

/** Windows 10 feature releases as build numbers, for machines that report a build but no version. */
const WINDOWS10_BUILD = { 1703: 15063, 1709: 16299 } as const;

function releaseOfBuild(build: number): number {
  if (build >= WINDOWS10_BUILD[1709]) return 1709;
  return build >= WINDOWS10_BUILD[1703] ? 1703 : 1607;
}

/** Windows 10 release as a comparable number (1709, or 2004+ for 20H2-style names); null if unknown. */
function windows10Release(machine: Machine): number | null {
  const version = machine.version?.trim() ?? '';
  if (/^\d{4}$/.test(version)) return Number(version);
  const halfYear = /^(\d{2})H(\d)$/i.exec(version);
  if (halfYear) return 2000 + Number(halfYear[1]) * 100 + Number(halfYear[2]);
  // Some records carry the full kernel version (10.0.19045) instead of the release name.
  const kernel = /^10\.0\.(\d{5})(\.\d+)?$/.exec(version);
  if (kernel) return releaseOfBuild(Number(kernel[1]));
  const build = machine.osBuild;
  return typeof build === 'number' && build > 0 ? releaseOfBuild(build) : null;
}

/** macOS isolation needs Defender client 101.98.84 or later (docs/mde-api.md §9.1). */
const MACOS_MIN_CLIENT = [101, 98, 84];

/** True when the version is known and older than the minimum; an unreported one is let through. */
function olderThan(version: string | null | undefined, minimum: readonly number[]): boolean {
  const text = version?.trim() ?? '';
  if (!/^\d+(\.\d+)*$/.test(text)) return false;
  const parts = text.split('.').map(Number);
  const differing = minimum.findIndex((min, index) => (parts[index] ?? 0) !== min);
  return differing >= 0 && (parts[differing] ?? 0) < minimum[differing];
}

/**
 * MDE lists the machine as not onboarded (`CanBeOnboarded`, `Unsupported`, `InsufficientInfo`,
 * docs/mde-api.md §8.1): a discovered device, which only a containment reaches. A record without the
 * field is taken for onboarded, as every onboarded record has it.
 */
export function listedAsUnmanaged(machine: Pick<Machine, 'onboardingStatus'>): boolean {
  const onboarding = machine.onboardingStatus?.toLowerCase();
  return onboarding !== undefined && onboarding !== 'onboarded';
}

/** Why MDE cannot isolate this machine in this way, or null when it can. */
export function isolationUnsupported(machine: Machine, type: MdeIsolationType): string | null {
  // Contained devices are cut off by the onboarded ones, whatever their own OS (docs/mde-api.md §9.4).
  if (type === 'UnManagedDevice')
    return listedAsUnmanaged(machine)
      ? null
      : `UnManagedDevice contains only devices MDE lists as not onboarded, and this one is ${machine.onboardingStatus ?? 'listed without an onboarding status'}: isolate it Full or Selective`;
  if (listedAsUnmanaged(machine))
    return `the device is not onboarded to Defender for Endpoint (${machine.onboardingStatus}): only a containment (isolationType UnManagedDevice, manual API) reaches it`;
  const platform = machine.osPlatform?.trim() ?? '';
  if (!platform) return 'its OS platform is unknown';
  if (/^windows11$/i.test(platform)) return null;
  if (/^windows10$/i.test(platform)) {
    const release = windows10Release(machine);
    // An unreported release is almost surely a serviced one; the API rejects the rare exception itself.
    if (release === null) return null;
    if (release < 1703)
      return `Windows 10 ${machine.version ?? `build ${machine.osBuild}`} is older than 1703`;
    if (type === 'Selective' && release < 1709)
      return `Selective isolation needs Windows 10 1709 or later (device runs ${machine.version ?? 'an older release'})`;
    return null;
  }
  const server = WINDOWS_SERVER.exec(platform);
  if (server) {
    const year = Number(server[1]);
    if (year > 2012 || (year === 2012 && server[2])) return null;
    return `${platform} is older than Windows Server 2012 R2`;
  }
  if (MACOS.test(platform))
    return olderThan(machine.agentVersion, MACOS_MIN_CLIENT)
      ? `macOS isolation needs Defender client ${MACOS_MIN_CLIENT.join('.')} or later (device has ${machine.agentVersion})`
      : null;
  if (LINUX.test(platform))
    return type === 'Selective' ? 'Selective isolation is not supported on Linux' : null;
  return `MDE cannot isolate the ${platform} platform`;
}
