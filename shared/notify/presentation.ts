/**
 * What every channel shows of an event, decided once: a headline, a tone, the facts and the links. The
 * card, the Slack blocks and the webhook's text are layouts of this. Text from alerts is made one line
 * and bounded here (kernel/text.ts), so no channel repeats that care.
 */
import { oneLine } from '../kernel/text';
import { tenantText } from '../tenants/label';
import type { DeviceSummary, NotifyEvent, NotifyEventKind, NotifyLinks } from './events';

/** How an event reads at a glance: the card's colour and Slack's emoji follow it. */
export type Tone = 'attention' | 'warning' | 'good' | 'neutral';

export interface Fact {
  title: string;
  value: string;
}

export interface Link {
  title: string;
  url: string;
}

export interface Presentation {
  kind: NotifyEventKind;
  headline: string;
  tone: Tone;
  facts: Fact[];
  links: Link[];
  /**
   * The same event about the same thing: a second one within the channel's memory is not sent again
   * (one message per device per event).
   */
  key: string;
}

/** Longest value of a fact: an alert title or a reason, not a document. */
export const MAX_FACT_CHARS = 300;

const LABEL: Record<NotifyEventKind, string> = {
  escalated: 'Escalated: a person must decide',
  'approval-pending': 'Approval needed',
  'isolation-succeeded': 'Isolated',
  'isolation-failed': 'Isolation failed',
  'isolation-timed-out': 'Isolation timed out',
  released: 'Released',
  'expiring-soon': 'Isolation ends soon',
  'drift-found': 'Drift found',
  'breaker-opened': 'Blast-radius breaker opened',
  'breaker-reset': 'Blast-radius breaker reset',
  'dead-lettered': 'Request dead-lettered',
  'break-glass': 'Break-glass isolation (review)',
};

const TONE: Record<NotifyEventKind, Tone> = {
  escalated: 'warning',
  'approval-pending': 'warning',
  'isolation-succeeded': 'good',
  'isolation-failed': 'attention',
  'isolation-timed-out': 'attention',
  released: 'neutral',
  'expiring-soon': 'warning',
  'drift-found': 'warning',
  'breaker-opened': 'attention',
  'breaker-reset': 'neutral',
  'dead-lettered': 'attention',
  'break-glass': 'attention',
};

export function labelOf(kind: NotifyEventKind): string {
  return LABEL[kind];
}

const fact = (title: string, value: string): Fact => ({ title, value: oneLine(value, MAX_FACT_CHARS) });

function deviceLink(links: NotifyLinks, device: DeviceSummary): Link[] {
  return device.machineId
    ? [
        {
          title: 'Device in Defender',
          url: `${links.portalUrl}/machines/${encodeURIComponent(device.machineId)}/overview`,
        },
      ]
    : [];
}

function incidentLink(
  links: NotifyLinks,
  alert: { incidentId: string | null; incidentArmId: string | null },
): Link[] {
  // A Sentinel incident opens in the Azure portal by its resource id; a Defender incident by its number.
  if (alert.incidentArmId)
    return [
      { title: 'Incident', url: `https://portal.azure.com/#resource${encodeURI(alert.incidentArmId)}` },
    ];
  if (alert.incidentId && /^\d{1,20}$/.test(alert.incidentId))
    return [{ title: 'Incident', url: `${links.portalUrl}/incidents/${alert.incidentId}` }];
  return [];
}

/**
 * The headline, facts and links of `event`, with its links under `links.portalUrl`. An event in a
 * listed tenant names it in its headline (what a digest lists), in its first fact (name and id) and in
 * its key, so two tenants' breakers opening at the same instant are two messages.
 */
export function present(event: NotifyEvent, links: NotifyLinks): Presentation {
  const view = presentEvent(event, links);
  const { tenant } = event;
  if (!tenant) return view;
  return {
    ...view,
    headline: oneLine(`${view.headline} in ${tenant.displayName}`, 150),
    facts: [fact('Tenant', tenantText(tenant)), ...view.facts],
    key: `${tenant.tenantId}:${view.key}`,
  };
}

function presentEvent(event: NotifyEvent, links: NotifyLinks): Presentation {
  const base = { kind: event.kind, tone: TONE[event.kind] };
  const label = LABEL[event.kind];
  switch (event.kind) {
    case 'escalated':
    case 'approval-pending':
    case 'isolation-succeeded':
    case 'isolation-failed':
    case 'isolation-timed-out':
    case 'released':
    case 'break-glass': {
      const facts = [
        fact('Device', event.device.name),
        fact('Alert', `${event.alert.title} (${event.alert.severity})`),
        fact('Rule', event.rule),
        fact('Reason', event.reason),
      ];
      const acts: Link[] = [];
      if (event.kind === 'approval-pending') {
        facts.push(fact('Decide by', event.deadline), fact('Approvers needed', String(event.approvers)));
        acts.push({ title: 'Approve or deny', url: event.decideUrl });
      }
      if (event.kind === 'break-glass') facts.push(fact('Forced by', event.requestedBy));
      if ('action' in event && event.kind === 'isolation-failed') facts.push(fact('Outcome', event.outcome));
      if ('actionId' in event && event.actionId) facts.push(fact('MDE action', event.actionId));
      facts.push(fact('Request', event.requestId));
      const verb =
        'action' in event && event.action === 'release' && event.kind !== 'released' ? 'Release' : null;
      return {
        ...base,
        headline: oneLine(`${verb ? label.replace('Isolation', verb) : label}: ${event.device.name}`, 150),
        facts,
        links: [...acts, ...deviceLink(links, event.device), ...incidentLink(links, event.alert)],
        key: `${event.kind}:${event.device.machineId ?? event.device.name}:${event.requestId}`,
      };
    }
    case 'expiring-soon':
      return {
        ...base,
        headline: oneLine(`${label}: ${event.device.name}`, 150),
        facts: [
          fact('Device', event.device.name),
          fact('Ends at', event.expiresAt),
          fact(
            'Why',
            event.ending === 'time-box' ? 'its time box ends' : 'MDE lifts every isolation after 7 days',
          ),
        ],
        links: deviceLink(links, event.device),
        key: `${event.kind}:${event.device.machineId ?? event.device.name}:${event.expiresAt}`,
      };
    case 'drift-found':
      return {
        ...base,
        headline: oneLine(`${label}: ${event.device.name} (${event.drift})`, 150),
        facts: [
          fact('Device', event.device.name),
          fact('Drift', event.drift),
          fact('Reason', event.reason),
          ...(event.by ? [fact('By', event.by)] : []),
        ],
        links: deviceLink(links, event.device),
        key: `${event.kind}:${event.device.machineId ?? event.device.name}:${event.drift}:${event.at}`,
      };
    case 'breaker-opened':
      return {
        ...base,
        headline: label,
        facts: [fact('Reason', event.reason), fact('At', event.at)],
        links: [{ title: 'Action center', url: `${links.portalUrl}/action-center/history` }],
        key: `${event.kind}:${event.at}`,
      };
    case 'breaker-reset':
      return {
        ...base,
        headline: label,
        facts: [fact('By', event.by), fact('Reason', event.reason), fact('At', event.at)],
        links: [],
        key: `${event.kind}:${event.at}`,
      };
    case 'dead-lettered':
      return {
        ...base,
        headline: oneLine(`${label}: ${event.reason}`, 150),
        facts: [
          fact('Reason', event.reason),
          fact('Description', event.description),
          fact('Message', event.messageId),
        ],
        links: [],
        key: `${event.kind}:${event.messageId}`,
      };
  }
}
