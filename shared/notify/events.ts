/**
 * What the SOC is told (docs/decisions/0027-notifications-after-the-outcome.md): one typed event per
 * thing a person may need to act on or know. Events carry only what a card shows (names, ids, links,
 * reasons), never a token, a key or a webhook URL.
 */

import type { TenantLabel } from '../tenants/label';

export const NOTIFY_EVENT_KINDS = [
  /** A person must decide: the policy escalated instead of acting. */
  'escalated',
  /** A rule asked for approval before isolating (emitted by the approvals room). */
  'approval-pending',
  'isolation-succeeded',
  /** An isolation or release that did not end as asked (failed, cancelled, error, tracking expired). */
  'isolation-failed',
  'isolation-timed-out',
  'released',
  /** An isolation in force ends soon: its time box, or MDE's platform lift. */
  'expiring-soon',
  'drift-found',
  'breaker-opened',
  'breaker-reset',
  'dead-lettered',
  /** A manual isolation forced past approval, for review after the fact (emitted by the approvals room). */
  'break-glass',
] as const;
export type NotifyEventKind = (typeof NOTIFY_EVENT_KINDS)[number];

/** The device as a person reads it: a name when there is one, and MDE's machine id for the link. */
export interface DeviceSummary {
  name: string;
  machineId: string | null;
}

/** The alert behind an event, as far as the card names it. */
export interface AlertSummary {
  title: string;
  severity: string;
  alertId: string;
  incidentId: string | null;
  /** ARM id of the Sentinel incident, when the alert came from one. */
  incidentArmId: string | null;
}

interface Decided {
  device: DeviceSummary;
  alert: AlertSummary;
  rule: string;
  reason: string;
  requestId: string;
}

export type NotifyEvent = {
  at: string;
  /**
   * The tenant it happened in, with a tenant list only (the notifier names it, notifier.ts): a
   * single-tenant deployment's events and cards are as they were.
   */
  tenant?: TenantLabel;
} & (
  | ({ kind: 'escalated' } & Decided)
  | ({
      kind: 'approval-pending';
      approvalId: string;
      /** The approval page, where a person approves or denies with a reason. */
      decideUrl: string;
      deadline: string;
      approvers: number;
    } & Decided)
  | ({
      kind: 'isolation-succeeded' | 'isolation-failed' | 'isolation-timed-out' | 'released';
      action: 'isolate' | 'release';
      /** The outcome of the record the event was made from (`failed`, `cancelled`, `error`...). */
      outcome: string;
      actionId: string | null;
    } & Decided)
  | {
      kind: 'expiring-soon';
      device: DeviceSummary;
      expiresAt: string;
      /** A time box the rule or a person set, or the seven days after which MDE lifts any isolation. */
      ending: 'time-box' | 'platform-lift';
    }
  | {
      kind: 'drift-found';
      device: DeviceSummary;
      /** The drift kind of the reconciler (shared/reconcile/drift.ts). */
      drift: string;
      reason: string;
      by: string | null;
    }
  | { kind: 'breaker-opened'; reason: string }
  | { kind: 'breaker-reset'; by: string; reason: string }
  | { kind: 'dead-lettered'; reason: string; description: string; messageId: string }
  | ({ kind: 'break-glass'; requestedBy: string } & Decided)
);

/** Where a person acts on an event: emitters and the approvals room add their own through events. */
export interface NotifyLinks {
  /** Defender portal (docs/notifications.md "Links"): device pages and the action center. */
  portalUrl: string;
}
