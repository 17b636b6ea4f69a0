/**
 * Which API host, token scope and sign-in authority belong together (docs/mde-api.md
 * §1–2). A token minted for one cloud is rejected by another cloud's API, so the three are only ever
 * chosen together, from the cloud name.
 */

import { isIPv4 } from 'node:net';

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
  /**
   * The Azure Monitor Logs query API of the same cloud (`whatif --workspace`); also its token
   * audience (docs/logs-query-api.md §1).
   */
  logsQueryBaseUrl: string;
}

const COMMERCIAL_SCOPE = 'https://api.securitycenter.microsoft.com/.default';

export const CLOUD_ENDPOINTS: Readonly<Record<MdeCloud, CloudEndpoints>> = {
  commercial: {
    apiBaseUrl: 'https://api.security.microsoft.com',
    tokenScope: COMMERCIAL_SCOPE,
    authorityHost: 'https://login.microsoftonline.com',
    armBaseUrl: 'https://management.azure.com',
    logsQueryBaseUrl: 'https://api.loganalytics.io',
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
    logsQueryBaseUrl: 'https://api.loganalytics.io',
    alternateHosts: [],
  },
  'gcc-high': {
    apiBaseUrl: 'https://api-gov.securitycenter.microsoft.us',
    tokenScope: 'https://api-gov.securitycenter.microsoft.us/.default',
    authorityHost: 'https://login.microsoftonline.us',
    armBaseUrl: 'https://management.usgovcloudapi.net',
    logsQueryBaseUrl: 'https://api.loganalytics.us',
    alternateHosts: [],
  },
  dod: {
    apiBaseUrl: 'https://api-gov.securitycenter.microsoft.us',
    tokenScope: 'https://api-gov.securitycenter.microsoft.us/.default',
    authorityHost: 'https://login.microsoftonline.us',
    armBaseUrl: 'https://management.usgovcloudapi.net',
    logsQueryBaseUrl: 'https://api.loganalytics.us',
    alternateHosts: [],
  },
};

/** The documented API hosts of `cloud`: its default host, then the regional ones. */
export function apiHostsOf(cloud: MdeCloud): string[] {
  const endpoints = CLOUD_ENDPOINTS[cloud];
  return [new URL(endpoints.apiBaseUrl).hostname, ...endpoints.alternateHosts];
}

/**
 * The local simulator's host: a loopback address literal (127.0.0.0/8, [::1]) or `localhost`, as a
 * parsed URL spells it. Never judged by the look of a DNS name: `127.example.net` resolves wherever
 * its owner wants, and the bearer token would follow.
 */
export function isLoopbackHost(hostname: string): boolean {
  return (
    hostname === 'localhost' || hostname === '[::1]' || (isIPv4(hostname) && hostname.startsWith('127.'))
  );
}

/** Whether an API URL may receive the cloud's token, and if not, why (config.ts words the fix). */
export type ApiUrlVerdict =
  | { kind: 'ok' }
  /** A documented host, of another cloud: its API would refuse this cloud's token. */
  | { kind: 'other-cloud'; owner: MdeCloud }
  /** A documented host of the cloud over plain http: the token would travel in clear. */
  | { kind: 'not-https' }
  /** Neither a documented API host of any cloud nor loopback: the token would go to a stranger. */
  | { kind: 'unknown-host' };

/**
 * The one rule for where the token may go: a documented API host of `cloud` over https, or the local
 * simulator on loopback (any cloud, http or https).
 */
export function judgeApiUrl(cloud: MdeCloud, apiUrl: URL): ApiUrlVerdict {
  const host = apiUrl.hostname;
  if (isLoopbackHost(host)) return { kind: 'ok' };
  if (apiHostsOf(cloud).includes(host))
    return apiUrl.protocol === 'https:' ? { kind: 'ok' } : { kind: 'not-https' };
  const owner = MDE_CLOUDS.find((other) => apiHostsOf(other).includes(host));
  return owner ? { kind: 'other-cloud', owner } : { kind: 'unknown-host' };
}
