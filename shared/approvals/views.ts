/**
 * An approval as people are shown it (the API, the page, the CLI): everything but the held request's
 * message, the page key and the deadline message's ref, which are the app's own.
 */
import { isRecord } from '../kernel/records';
import type { ApprovalRecord } from '../state/store';
import { type TenantLabel, tenantLabel } from '../tenants/label';
import { SINGLE_TENANT, type TenantDirectory } from '../tenants/lookup';

export type ApprovalView = Omit<ApprovalRecord, 'request' | 'pageKey' | 'deadlineMessage'> & {
  /** The tenant the held request acts in, with a tenant list only. */
  tenant?: TenantLabel;
};

/** `record` as shown; with a tenant list, with the tenant its held request acts in. */
export function viewOf(record: ApprovalRecord, tenants: TenantDirectory = SINGLE_TENANT): ApprovalView {
  const { request: _request, pageKey: _pageKey, deadlineMessage: _deadlineMessage, ...view } = record;
  const tenant = heldTenantLabel(record, tenants);
  return tenant ? { ...view, tenant } : view;
}

/** The tenant the held request acts in (its queue message names it); null in a single-tenant deployment. */
export function heldTenant(record: ApprovalRecord): string | null {
  const request: unknown = JSON.parse(record.request);
  return isRecord(request) && typeof request.tenantId === 'string' ? request.tenantId : null;
}

/** The held request's tenant as a person reads it; null without a tenant list. */
export function heldTenantLabel(record: ApprovalRecord, tenants: TenantDirectory): TenantLabel | null {
  return tenantLabel(tenants, heldTenant(record));
}

/**
 * Links to the Defender portal of the commercial cloud, where analysts open devices, alerts and
 * incidents (https://learn.microsoft.com/defender-xdr/entity-page-device).
 */
const PORTAL = 'https://security.microsoft.com';

export function portalLinks(record: ApprovalRecord): { label: string; href: string }[] {
  const links = [{ label: 'Device in Defender', href: `${PORTAL}/machines/v2/${record.machineId}/overview` }];
  const { alert } = record;
  if (alert.source === 'mde-alert' || alert.source === 'graph-alert' || alert.source === 'xdr-stream')
    links.push({ label: 'Alert', href: `${PORTAL}/alerts/${encodeURIComponent(alert.alertId)}` });
  if (alert.incidentId !== null && alert.incidentArmId === null)
    links.push({
      label: 'Incident',
      href: `${PORTAL}/incident2/${encodeURIComponent(alert.incidentId)}/overview`,
    });
  if (alert.incidentArmId !== null)
    links.push({
      label: 'Sentinel incident',
      href: `https://portal.azure.com/#resource${alert.incidentArmId}`,
    });
  return links;
}
