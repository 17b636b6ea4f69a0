/**
 * The events of the approvals room (shared/approvals/events.ts), which sits above this one: an approval
 * pending, with the link to its page, and a break-glass isolation. The composition root hands these to
 * the approvals as their `ApprovalEvents`; the shapes are the store's approval and the fields of a
 * break-glass event this needs, so nothing here imports the room above.
 */
import type { ApprovalRecord } from '../state/store';
import type { AlertSummary, NotifyEvent } from './events';

/** What a break-glass isolation's event carries (approvals/events.ts `BreakGlassEvent`). */
export interface BreakGlassFacts {
  requestId: string;
  machineId: string;
  computerDnsName: string | null;
  requestedBy: string;
  reason: string;
  alertId: string;
  alert: Omit<AlertSummary, 'alertId'>;
  rule: string;
  decision: string;
  at: string;
  /** The listed tenant the isolation acts in; absent in a single-tenant deployment. */
  tenantId?: string;
}

/**
 * The approval page a person opens from the card (functions/approvals.ts, `approvals/{id}/page`).
 * Behind App Service authentication (`signIn`) the link goes through its sign-in endpoint, which
 * returns to the page: the deployment answers an unsigned request 401 rather than redirecting it
 * (API callers need the 401), so a direct link would fail for whoever is not signed in yet
 * (docs/notifications.md "Approval links").
 */
export function approvalPageUrl(appUrl: string, approvalId: string, signIn: boolean): string {
  const page = `/api/approvals/${encodeURIComponent(approvalId)}/page`;
  if (!signIn) return `${appUrl}${page}`;
  const path = new URL(appUrl).pathname.replace(/\/$/, '');
  return `${appUrl}/.auth/login/aad?post_login_redirect_uri=${encodeURIComponent(`${path}${page}`)}`;
}

/**
 * `appUrl`: the app's public base URL (settings.ts `APP_PUBLIC_URL`), without a trailing slash;
 * `signIn`: App Service authentication guards the page (MANUAL_EASY_AUTH).
 */
export function eventOfApproval(record: ApprovalRecord, appUrl: string, signIn: boolean): NotifyEvent {
  const { alertId, title, severity, incidentId, incidentArmId } = record.alert;
  return {
    kind: 'approval-pending',
    at: record.createdAt,
    device: { name: record.computerDnsName ?? record.machineId, machineId: record.machineId },
    alert: { alertId, title, severity, incidentId, incidentArmId },
    rule: record.askedBy,
    reason: record.reason,
    // The approval's id is also the request id its isolation goes out under once approved.
    requestId: record.id,
    approvalId: record.id,
    decideUrl: approvalPageUrl(appUrl, record.id, signIn),
    deadline: record.deadline,
    approvers: record.approvers,
  };
}

export function eventOfBreakGlass(facts: BreakGlassFacts): NotifyEvent {
  return {
    kind: 'break-glass',
    at: facts.at,
    device: { name: facts.computerDnsName ?? facts.machineId, machineId: facts.machineId },
    alert: { alertId: facts.alertId, ...facts.alert },
    rule: facts.rule,
    reason: `${facts.reason} (waived: ${facts.decision})`,
    requestId: facts.requestId,
    requestedBy: facts.requestedBy,
  };
}
