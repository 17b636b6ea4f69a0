/**
 * Reads a Microsoft Sentinel incident's status from Azure Resource Manager (docs/mde-api.md §17): the
 * one question the app asks of Sentinel, whether an incident is still open, for a renewal at MDE's
 * lift and a retry after a TimeOut (docs/decisions/0030-reading-the-sentinel-incident-status.md).
 *
 * A humble gateway: one GET through the product's JSON client, with the same credential as MDE and
 * an ARM token, outside the MDE quota. It never retries itself: an answer that may change (429, 5xx,
 * no answer) is thrown as `IncidentUnansweredError`, which the worker's lifecycle retries with backoff
 * like any transient failure, a bounded number of times (dispatch/steps/incident-open.ts); an answer that will not change without a
 * person (no token, 401, 403, 404, an id that is not an incident's) is `unreadable`, with why.
 */
import type { TokenCredential } from '@azure/identity';
import { JsonClient, type JsonResponse, NoAnswerError, TokenUnavailableError } from '../http/json-client';
import { sentinelWorkspaceOf } from '../kernel/arm-id';
import { isRecord } from '../kernel/records';
import { oneLine } from '../kernel/text';

/** The newest stable api-version of Microsoft.SecurityInsights (docs/mde-api.md §17.1). */
export const SENTINEL_INCIDENTS_API_VERSION = '2025-09-01';

export const INCIDENT_STATUSES = ['New', 'Active', 'Closed'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** The role that lets the app read incidents, named wherever a read is refused. */
export const INCIDENT_READER_ROLE = 'Microsoft Sentinel Reader';

export type IncidentReading =
  | { kind: 'status'; status: IncidentStatus }
  /** Nothing the app can do changes it: a person grants the role, or decides. */
  | { kind: 'unreadable'; reason: string };

export interface IncidentReader {
  read(incidentArmId: string): Promise<IncidentReading>;
}

/** ARM gave no answer that settles it (429, 5xx, none in time): asking again later may. */
export class IncidentUnansweredError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IncidentUnansweredError';
  }
}

export interface IncidentReaderOptions {
  credential: TokenCredential;
  /** ARM of the cloud (`AppConfig.armBaseUrl`); the token is asked for this audience. */
  armBaseUrl: string;
  /** Where requests go when not to `armBaseUrl` (tests: the simulator's ARM stand-in). */
  endpointUrl?: string;
  timeoutMs: number;
}

export function createIncidentReader(options: IncidentReaderOptions): IncidentReader {
  const arm = options.armBaseUrl.replace(/\/+$/, '');
  const http = new JsonClient({
    baseUrl: options.endpointUrl ?? arm,
    scope: `${arm}/.default`,
    credential: options.credential,
    timeoutMs: options.timeoutMs,
  });
  return {
    async read(incidentArmId) {
      const workspace = sentinelWorkspaceOf(incidentArmId);
      if (workspace === null)
        return {
          kind: 'unreadable',
          reason: 'the alert names no Sentinel incident resource id the app may read',
        };
      const grant = `grant the app's identity ${INCIDENT_READER_ROLE} on workspace ${workspace}`;
      let answer: JsonResponse;
      try {
        answer = await http.exchange({
          method: 'GET',
          path: incidentArmId,
          params: { 'api-version': SENTINEL_INCIDENTS_API_VERSION },
        });
      } catch (error) {
        if (error instanceof TokenUnavailableError)
          return { kind: 'unreadable', reason: `no ARM token to read the incident (${error.message})` };
        if (error instanceof NoAnswerError)
          throw new IncidentUnansweredError(`ARM gave no answer reading the incident: ${error.message}`);
        throw error;
      }
      const { status, data } = answer;
      if (status === 200) return statusOf(data);
      const code = armErrorCode(data);
      const answered = `ARM answered ${status}${code ? ` ${code}` : ''} reading the incident`;
      if (status === 429 || status >= 500) throw new IncidentUnansweredError(answered);
      if (status === 401)
        return {
          kind: 'unreadable',
          reason: `${answered}: the token is not accepted there (check MDE_CLOUD and the tenant)`,
        };
      if (status === 403 || status === 404)
        // ARM answers 404 as well as 403 to an identity that may not see the workspace.
        return { kind: 'unreadable', reason: `${answered}; ${grant}` };
      return { kind: 'unreadable', reason: answered };
    },
  };
}

function statusOf(body: unknown): IncidentReading {
  const properties = isRecord(body) && isRecord(body.properties) ? body.properties : {};
  const status = properties.status;
  const known = INCIDENT_STATUSES.find((s) => s === status);
  if (known) return { kind: 'status', status: known };
  return {
    kind: 'unreadable',
    reason: `ARM answered the incident without a status the app knows (${typeof status === 'string' ? oneLine(status, 40) : typeof status})`,
  };
}

/** ARM's `error.code`, a short identifier only: never text a server chose to say at length. */
function armErrorCode(body: unknown): string | null {
  const code = isRecord(body) && isRecord(body.error) ? body.error.code : undefined;
  return typeof code === 'string' && /^[A-Za-z][A-Za-z0-9.]{0,63}$/.test(code) ? code : null;
}
