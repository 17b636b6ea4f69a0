/**
 * Which API host, token scope and sign-in authority belong together (docs/mde-api.md
 * §1–2). A token minted for one cloud is rejected by another cloud's API, so the three are only ever
 * chosen together, from the cloud name.
 */

export const MDE_CLOUDS = ['commercial', 'gcc', 'gcc-high', 'dod'] as const;
export type MdeCloud = (typeof MDE_CLOUDS)[number];

export interface CloudEndpoints {
  /** Base URL of the API, without the `/api` prefix. */
  apiBaseUrl: string;
  /** OAuth scope for an application token (the WindowsDefenderATP resource of that cloud). */
  tokenScope: string;
  /** Entra sign-in authority of that cloud. */
  authorityHost: string;
  /** Other hosts of the same cloud that accept the same token (regional hosts). */
  alternateHosts: readonly string[];
  /** Azure Resource Manager of the same cloud (Sentinel incident comments); also its token audience. */
  armBaseUrl: string;
}

const COMMERCIAL_SCOPE = 'https://api.securitycenter.microsoft.com/.default';

export const CLOUD_ENDPOINTS: Readonly<Record<MdeCloud, CloudEndpoints>> = {
  commercial: {
    apiBaseUrl: 'https://api.security.microsoft.com',
    tokenScope: COMMERCIAL_SCOPE,
    authorityHost: 'https://login.microsoftonline.com',
    armBaseUrl: 'https://management.azure.com',
    // Regional hosts from the "improve request performance" tip, old and current spellings.
    alternateHosts: [
      'api.securitycenter.microsoft.com',
      'api.securitycenter.windows.com',
      'us.api.security.microsoft.com',
      'eu.api.security.microsoft.com',
      'uk.api.security.microsoft.com',
      'au.api.security.microsoft.com',
      'swa.api.security.microsoft.com',
      'ina.api.security.microsoft.com',
      'aea.api.security.microsoft.com',
      'api-us.securitycenter.microsoft.com',
      'api-eu.securitycenter.microsoft.com',
      'api-uk.securitycenter.microsoft.com',
      'api-au.securitycenter.microsoft.com',
    ],
  },
  // The gov docs give no token audience; clients in the field use the API host as the resource.
  gcc: {
    apiBaseUrl: 'https://api-gcc.securitycenter.microsoft.us',
    tokenScope: 'https://api-gcc.securitycenter.microsoft.us/.default',
    authorityHost: 'https://login.microsoftonline.com',
    armBaseUrl: 'https://management.azure.com',
    alternateHosts: [],
  },
  'gcc-high': {
    apiBaseUrl: 'https://api-gov.securitycenter.microsoft.us',
    tokenScope: 'https://api-gov.securitycenter.microsoft.us/.default',
    authorityHost: 'https://login.microsoftonline.us',
    armBaseUrl: 'https://management.usgovcloudapi.net',
    alternateHosts: [],
  },
  dod: {
    apiBaseUrl: 'https://api-gov.securitycenter.microsoft.us',
    tokenScope: 'https://api-gov.securitycenter.microsoft.us/.default',
    authorityHost: 'https://login.microsoftonline.us',
    armBaseUrl: 'https://management.usgovcloudapi.net',
    alternateHosts: [],
  },
};

function hostsOf(cloud: MdeCloud): string[] {
  const endpoints = CLOUD_ENDPOINTS[cloud];
  return [new URL(endpoints.apiBaseUrl).hostname, ...endpoints.alternateHosts];
}

function isLoopback(hostname: string): boolean {
  return (
    hostname === 'localhost' || hostname === '[::1]' || hostname === '::1' || hostname.startsWith('127.')
  );
}

/**
 * Why an API URL cannot be used with a cloud's token, or null when it can. Loopback hosts (the local
 * simulator) go with any cloud; a host of another cloud never does, since its token would be refused.
 */
export function apiUrlMismatch(cloud: MdeCloud, apiUrl: URL): string | null {
  if (isLoopback(apiUrl.hostname)) return null;
  if (hostsOf(cloud).includes(apiUrl.hostname)) return null;
  const owner = MDE_CLOUDS.find((other) => hostsOf(other).includes(apiUrl.hostname));
  if (owner) return `host ${apiUrl.hostname} belongs to cloud "${owner}", not "${cloud}"`;
  if (apiUrl.protocol !== 'https:') return 'a non-loopback API URL must use https';
  return null;
}
