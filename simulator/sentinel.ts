/**
 * The simulator's stand-in for Azure Resource Manager, for the one Sentinel call the app makes: GET a
 * Microsoft.SecurityInsights incident (docs/mde-api.md §17). Incidents are added by the test (or the
 * demo) with a status it may change, as an analyst works the incident; reads may be refused, as for
 * an identity without Microsoft Sentinel Reader on the workspace, or fail, as while ARM is unavailable.
 * Answers are shaped as ARM's.
 */
import { randomUUID } from 'node:crypto';
import type { ApiResult } from './api';
import type { TokenClaims } from './tokens';

export type SimIncidentStatus = 'New' | 'Active' | 'Closed';
/** How incident reads are answered: as asked, 403 (no role on the workspace), or 503 (ARM unavailable). */
export type SimIncidentReads = 'allowed' | 'forbidden' | 'unavailable';

/** The audience ARM accepts (the commercial cloud's; the app asks `<armBaseUrl>/.default`). */
export const ARM_AUDIENCE = 'https://management.azure.com';

const WORKSPACE =
  '/subscriptions/0f1e2d3c-4b5a-4697-8877-665544332211/resourceGroups/soc-rg/providers/Microsoft.OperationalInsights/workspaces/soc-ws';

interface SimIncident {
  id: string;
  name: string;
  title: string;
  status: SimIncidentStatus;
  number: number;
}

const armError = (status: number, code: string, message: string): ApiResult => ({
  status,
  body: { error: { code, message } },
});

export class SentinelIncidents {
  /** By ARM id in lower case: ARM ids are case-insensitive. */
  private readonly incidents = new Map<string, SimIncident>();
  private reads: SimIncidentReads = 'allowed';
  private readsLeft = Number.POSITIVE_INFINITY;

  /** A new incident in the simulator's workspace; answers its ARM id. */
  add(status: SimIncidentStatus, title = 'Simulated incident'): string {
    const name = randomUUID();
    const id = `${WORKSPACE}/providers/Microsoft.SecurityInsights/Incidents/${name}`;
    this.incidents.set(id.toLowerCase(), { id, name, title, status, number: this.incidents.size + 1 });
    return id;
  }

  setStatus(incidentArmId: string, status: SimIncidentStatus): void {
    const incident = this.incidents.get(incidentArmId.toLowerCase());
    if (!incident) throw new Error(`no simulated incident ${incidentArmId}`);
    incident.status = status;
  }

  /** `reads` for the next `times` reads (all of them by default), then `allowed` again. */
  setReads(reads: SimIncidentReads, times = Number.POSITIVE_INFINITY): void {
    this.reads = reads;
    this.readsLeft = times;
  }

  /** One ARM call: `claims` of a verified token, or null for none or a bad one. */
  answer(method: string, pathname: string, query: URLSearchParams, claims: TokenClaims | null): ApiResult {
    if (!claims)
      return armError(
        401,
        'AuthenticationFailed',
        'Authentication failed. The Authorization header is missing or invalid.',
      );
    if (claims.aud.replace(/\/+$/, '').toLowerCase() !== ARM_AUDIENCE)
      return armError(
        401,
        'InvalidAuthenticationTokenAudience',
        `The access token has been obtained for wrong audience or resource '${claims.aud}'.`,
      );
    if (!query.get('api-version'))
      return armError(
        400,
        'MissingApiVersionParameter',
        'The api-version query parameter (?api-version=) is required for all requests.',
      );
    const incident = this.incidents.get(pathname.toLowerCase());
    if (method !== 'GET' || !incident)
      return armError(404, 'NotFound', `The resource ${pathname} was not found.`);
    const reads = this.reads;
    this.readsLeft -= 1;
    if (this.readsLeft <= 0) this.reads = 'allowed';
    if (reads === 'unavailable')
      return armError(503, 'ServiceUnavailable', 'The service is temporarily unavailable. Please retry.');
    if (reads === 'forbidden')
      return armError(
        403,
        'AuthorizationFailed',
        `The client '${claims.appid}' with object id '${claims.oid}' does not have authorization to perform action 'Microsoft.SecurityInsights/incidents/read' over scope '${incident.id}' or the scope is invalid.`,
      );
    return {
      status: 200,
      body: {
        id: incident.id,
        name: incident.name,
        type: 'Microsoft.SecurityInsights/Incidents',
        etag: `"${randomUUID()}"`,
        properties: {
          title: incident.title,
          status: incident.status,
          severity: 'High',
          incidentNumber: incident.number,
        },
      },
    };
  }
}
