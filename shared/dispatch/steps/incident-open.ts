/**
 * Whether the Sentinel incident an isolation was made for is still open, for what may only go on
 * while it is: a renewal at MDE's lift (renewal.ts) and a retry after a TimeOut (offline-timeout.ts)
 * (docs/decisions/0030-reading-the-sentinel-incident-status.md). Never a guess: an incident that
 * cannot be read stops both, for a person, with what to grant.
 */
import type { NormalizedAlert } from '../../alerts/model';
import { lastSegment } from '../../kernel/arm-id';
import { type IncidentReader, type IncidentReading, IncidentUnansweredError } from '../../sentinel/incidents';

export type IncidentGate =
  /** The alert did not come from Sentinel: the incident has no say. */
  | { kind: 'not-sentinel' }
  | { kind: 'open'; status: 'New' | 'Active' }
  | { kind: 'closed'; reason: string }
  | { kind: 'unreadable'; reason: string };

/** Answers `unreadable` for every incident: a process without ARM access (the default of dispatch). */
export const NO_INCIDENT_READER: IncidentReader = {
  read: async () => ({ kind: 'unreadable', reason: 'this process has no Sentinel incident reader' }),
};

/** The reader, and how many attempts of a request may meet ARM without an answer (`transientMaxAttempts`). */
export interface IncidentAccess {
  reader: IncidentReader;
  maxAttempts: number;
}

/**
 * The gate for `request`'s alert. ARM without an answer (429, 5xx, none in time) is thrown, for the
 * lifecycle to retry the request with backoff, except on its last attempt: then the incident is
 * unreadable, and the request ends escalated rather than dead-lettered.
 */
export async function incidentGate(
  { reader, maxAttempts }: IncidentAccess,
  request: { alert: Pick<NormalizedAlert, 'source' | 'incidentArmId' | 'incidentId'>; attempt: number },
): Promise<IncidentGate> {
  const { alert } = request;
  if (alert.source !== 'sentinel-incident' && alert.source !== 'sentinel-alert')
    return { kind: 'not-sentinel' };
  const name = alert.incidentId ?? lastSegment(alert.incidentArmId ?? undefined) ?? 'unknown';
  if (!alert.incidentArmId)
    return {
      kind: 'unreadable',
      reason: `the Sentinel ${alert.source === 'sentinel-alert' ? 'alert' : 'incident'} carried no incident resource id, so whether its incident is open cannot be read`,
    };
  let reading: IncidentReading;
  try {
    reading = await reader.read(alert.incidentArmId);
  } catch (error) {
    const lastAttempt = request.attempt + 1 >= maxAttempts;
    if (!(error instanceof IncidentUnansweredError) || !lastAttempt) throw error;
    reading = { kind: 'unreadable', reason: `${error.message}, on ${request.attempt + 1} attempts` };
  }
  if (reading.kind === 'unreadable')
    return { kind: 'unreadable', reason: `Sentinel incident ${name} could not be read: ${reading.reason}` };
  if (reading.status === 'Closed') return { kind: 'closed', reason: `Sentinel incident ${name} is Closed` };
  return { kind: 'open', status: reading.status };
}
