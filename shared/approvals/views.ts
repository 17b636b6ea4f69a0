/**
 * An approval as people are shown it (the API, the page, the CLI): everything but the held request's
 * message, the page key and the deadline message's ref, which are the app's own.
 */
import type { ApprovalRecord } from '../state/store';

export type ApprovalView = Omit<ApprovalRecord, 'request' | 'pageKey' | 'deadlineMessage'>;

export function viewOf(record: ApprovalRecord): ApprovalView {
  const { request: _request, pageKey: _pageKey, deadlineMessage: _deadlineMessage, ...view } = record;
  return view;
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
