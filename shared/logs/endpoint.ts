/**
 * Where the Logs query API is and which token it takes: the cloud's (MDE_CLOUD), or a stand-in on
 * loopback named by LOGS_QUERY_URL (tests, a rehearsal on recorded rows). The token goes nowhere
 * else: the setting takes an https loopback address only, since the SDK refuses a bearer token over
 * plain http.
 */
import { CLOUD_ENDPOINTS, isLoopbackHost, type MdeCloud } from '../mde/clouds';
import type { LogsEndpoint } from './alert-history';

/** The CLI's own setting; the app never reads it (docs/logs-query-api.md §1). */
export const LOGS_QUERY_URL = 'LOGS_QUERY_URL';

/** The endpoint of `cloud`, or of the stand-in `override`; a string says what is wrong with it. */
export function logsEndpointOf(cloud: MdeCloud, override: string | undefined): LogsEndpoint | string {
  const cloudUrl = CLOUD_ENDPOINTS[cloud].logsQueryBaseUrl;
  const scope = `${cloudUrl}/.default`;
  if (!override) return { baseUrl: cloudUrl, scope };
  const url = URL.canParse(override) ? new URL(override) : null;
  if (url?.protocol !== 'https:' || !isLoopbackHost(url.hostname))
    return `${LOGS_QUERY_URL} takes a stand-in on loopback over https (https://127.0.0.1:<port>), not "${override.slice(0, 100)}": leave it empty to query ${cloudUrl} (MDE_CLOUD=${cloud})`;
  return { baseUrl: url.origin, scope };
}
