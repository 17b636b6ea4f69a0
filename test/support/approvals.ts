/** A held isolation as the approvals store keeps it, for the approval steps' tests. */
import { manualAlert } from '../../shared/alerts/manual';
import { manualRequest, requesterFor } from '../../shared/dispatch/request';
import type { ApprovalRecord } from '../../shared/state/store';

export const HELD_MACHINE = '716240a6127a2375ac877a23ed488ec786b9e4a4';

/**
 * A two-person approval of a manual isolation of HELD_MACHINE, pending since `createdAt` for 30
 * minutes; its held request in `tenantId` when given.
 */
export function pendingApproval(
  id: string,
  createdAt: number,
  onExpiry: ApprovalRecord['onExpiry'],
  tenantId?: string,
): ApprovalRecord {
  const device = { mdeDeviceId: HELD_MACHINE };
  const alert = manualAlert({ device, comment: 'IR-7', isolationType: 'Full', requestedBy: 'alice' });
  const request = manualRequest('isolate', device, 'Full', 'enforce', {
    alert,
    receivedAt: new Date(createdAt),
    policyVersion: 'test-1',
    requestedBy: requesterFor(alert, 'manual'),
  });
  return {
    id,
    state: 'pending',
    machineId: HELD_MACHINE,
    computerDnsName: 'hv-host-01.contoso.local',
    device,
    alert: {
      source: alert.source,
      alertId: alert.alertId,
      incidentId: null,
      incidentArmId: null,
      severity: alert.severity,
      title: alert.title,
    },
    askedBy: 'hyper-v-hosts',
    reason: 'protected by hyper-v-hosts',
    requestedBy: request.requestedBy,
    approvers: 2,
    onExpiry,
    createdAt: new Date(createdAt).toISOString(),
    deadline: new Date(createdAt + 30 * 60_000).toISOString(),
    votes: [],
    endedAt: null,
    followedBy: null,
    request: JSON.stringify({ ...request, ...(tenantId && { tenantId }) }),
    pageKey: 'k',
  };
}
