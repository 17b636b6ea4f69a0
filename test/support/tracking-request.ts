/** A request in its tracking phase, as the worker queues it once MDE accepted its POST. */
import type { NormalizedAlert } from '../../shared/alerts/model';
import type { TrackedAction, TrackRequest } from '../../shared/dispatch/request';
import { alertOf } from './alerts';

export interface TrackingOf {
  requestId: string;
  /** The tracked action; `postedAt` also sets the request's receipt a second before. */
  tracking: Pick<TrackedAction, 'actionId' | 'machineId' | 'postedAt'> & Partial<TrackedAction>;
  alert?: Partial<NormalizedAlert>;
  priority?: number;
  tenantId?: string;
}

export function trackingRequest({
  requestId,
  tracking,
  alert,
  priority = 1,
  tenantId,
}: TrackingOf): TrackRequest {
  const action = tracking.action ?? 'isolate';
  const machineId = tracking.machineId;
  return {
    requestId,
    action: 'track',
    device: { mdeDeviceId: machineId },
    isolationType: 'Full',
    priority,
    alert: alertOf({ alertId: 'alert-1', title: 'Ransomware', devices: [], ...alert }),
    requestedBy: { kind: 'rule', name: 'isolate-high' },
    rule: 'isolate-high',
    policyVersion: 'policy-7',
    mode: 'enforce',
    attempt: 0,
    deferrals: 0,
    dedupeKey: `${action}:mde:${machineId}`,
    receivedAt: new Date(Date.parse(tracking.postedAt) - 1_000).toISOString(),
    ...(tenantId && { tenantId }),
    tracking: { action, computerDnsName: null, adopted: false, polls: 0, ...tracking },
  };
}
