/**
 * Tracking of an action rebuilt from the state store, for a process that did not queue it: the
 * action ledger says which action and request, the isolation register who asked and why. The alert
 * is known as far as the register keeps it (source, ids, the decision's reason): a resumed request's
 * outcome record carries those, with the severity and isolation type it had not kept.
 */
import type { NormalizedAlert } from '../../alerts/model';
import type { IsolationPolicy } from '../../policy/types';
import type { IsolationRecord, LedgerRecord } from '../../state/store';
import { PRIORITY, type TrackedAction, type TrackRequest } from '../request';

/** The action a ledger entry follows, as tracking carries it. */
export function trackedFromLedger(entry: LedgerRecord): TrackedAction {
  return {
    actionId: entry.actionId,
    action: entry.type === 'Isolate' ? 'isolate' : 'release',
    machineId: entry.machineId,
    computerDnsName: entry.computerDnsName,
    postedAt: entry.adopted ? entry.createdAt : entry.recordedAt,
    adopted: entry.adopted,
    polls: 0,
  };
}

/** The tracking request of `entry`, or null when the register does not know its request. */
export function resumedTracking(
  entry: LedgerRecord,
  record: IsolationRecord | null,
  policy: IsolationPolicy,
  now: number,
): TrackRequest | null {
  if (!record || record.requestId !== entry.requestId) return null;
  const { provenance } = record;
  const device = { mdeDeviceId: entry.machineId };
  const manual = provenance.alertSource === 'manual';
  const alert: NormalizedAlert = {
    source: provenance.alertSource,
    alertId: provenance.alertId,
    incidentId: provenance.incidentId,
    incidentArmId: provenance.incidentArmId,
    title: provenance.reason,
    severity: 'high',
    firing: true,
    categories: [],
    mitreTechniques: [],
    devices: [device],
    ...(manual && { manual: { comment: provenance.reason, requestedBy: provenance.requestedBy.name } }),
  };
  const tracking = trackedFromLedger(entry);
  return {
    requestId: entry.requestId,
    action: 'track',
    device,
    isolationType: 'Full',
    priority: PRIORITY.tracking,
    alert,
    requestedBy: provenance.requestedBy,
    rule: provenance.requestedBy.kind === 'rule' ? provenance.requestedBy.name : 'manual',
    policyVersion: provenance.policyVersion || policy.version,
    mode: provenance.mode,
    attempt: 0,
    deferrals: 0,
    dedupeKey: `track:${tracking.actionId}:${entry.requestId}`,
    // The claim was opened under the key the alert named (`fqdn:…`), not the machine id known now.
    ...(entry.deviceKey !== null && { claimKey: entry.deviceKey }),
    receivedAt: record.requestedAt || new Date(now).toISOString(),
    tracking,
  };
}
