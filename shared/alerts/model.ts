/**
 * The normalized alert every parser produces (docs/architecture.md §4.2). Decision, dispatch and reporting code
 * only ever sees this shape, never a raw payload.
 */
import type { DeviceIdentifiers } from '../kernel/device-label';
import type { MdeIsolationType } from '../kernel/vocabulary';

export const ALERT_SOURCES = [
  'sentinel-incident',
  'sentinel-alert',
  'azure-monitor',
  'mde-alert',
  'graph-alert',
  'xdr-stream',
  'manual',
  'relay-manual',
] as const;
export type AlertSource = (typeof ALERT_SOURCES)[number];

/** Ordered from least to most severe, so an index comparison answers "at least as severe as". */
export const SEVERITIES = ['informational', 'low', 'medium', 'high'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** One distinct device named by an alert. At least one field is set; MDE ids are lower case. */
export interface DeviceRef extends DeviceIdentifiers {
  /** ARM id of an Azure VM, when the alert names one (informational: MDE cannot look it up). */
  azureResourceId?: string;
}

/**
 * Distinct devices one alert may name. One alert naming more is a false positive or an outbreak, and
 * deciding device by device would flood the queue, the response and the logs: it is decided whole.
 */
export const MAX_DEVICES_PER_ALERT = 1000;
/** Categories, and MITRE techniques, kept per alert: real alerts name a handful. */
export const MAX_LABELS_PER_ALERT = 100;

/** Characters of a title kept: more than any real title, and more than a policy's `title` glob reads. */
export const MAX_TITLE_LENGTH = 1024;

/** What may be cut from an alert: the title by characters, the lists by entries. */
export type TruncatedField = 'title' | 'categories' | 'mitreTechniques' | 'devices';

/**
 * Where an alert says it comes from, as the sender wrote it (GUIDs in lower case; anything else is
 * dropped). Never trusted alone: shared/tenants/lookup.ts decides the tenant from it.
 */
export interface AlertOrigin {
  /** The Entra tenant the alert names (Graph and XDR `tenantId`, MDE `aadTenantId`, a manual `tenant`). */
  tenantId?: string;
  /**
   * The Log Analytics workspace holding a Sentinel alert or incident. A SecurityAlert row's `TenantId`
   * column is this workspace id, not an Entra tenant (docs/alert-schemas.md §11).
   */
  workspaceId?: string;
}

export interface NormalizedAlert {
  source: AlertSource;
  alertId: string;
  incidentId: string | null;
  /** ARM id of the Sentinel incident, used to post incident comments; null outside Sentinel. */
  incidentArmId: string | null;
  title: string;
  severity: Severity;
  /** False for resolved or closed alerts: those never isolate anything. */
  firing: boolean;
  categories: string[];
  mitreTechniques: string[];
  devices: DeviceRef[];
  /**
   * Other ids of the same alert, or of the alerts an incident groups, in other systems (Sentinel
   * SystemAlertId, MDE/XDR `da…` id), so an analyst can find them; omitted when there are none.
   */
  relatedAlertIds?: string[];
  /** The Defender XDR incident number a Sentinel incident mirrors (`providerIncidentId`), when there is one. */
  providerIncidentId?: string;
  /** What the alert names of its tenant; omitted when it names nothing. */
  origin?: AlertOrigin;
  /**
   * The configured tenant the alert belongs to (MDE_TENANTS), set by intake; absent in a single-tenant
   * deployment, whose one tenant is its identity's.
   */
  tenantId?: string;
  /**
   * Fields cut to their cap (MAX_TITLE_LENGTH, MAX_LABELS_PER_ALERT, MAX_DEVICES_PER_ALERT): the
   * title's length, or how many distinct entries the alert named; omitted when nothing was cut. An
   * alert with `devices` here is over the device cap, and the policy decides it whole.
   */
  truncated?: Partial<Record<TruncatedField, number>>;
  /**
   * Set only for the manual shape (isIsolationOrder): what the person asked for, in their words.
   * `requestedBy` of a relayed order is the relay's claim, marked as such (relayClaim). `overrideReason`:
   * the person waived the policy's protections for this device, and why; `forceReason`: the person
   * releases an isolation this app did not make, and why (only the manual API and the CLI set either).
   */
  manual?: {
    comment: string;
    isolationType?: MdeIsolationType;
    requestedBy?: string;
    overrideReason?: string;
    forceReason?: string;
  };
}

/**
 * A person asked for this isolation through the manual API or the CLI, whose caller is verified (Easy
 * Auth) or holds the manual key: the one test of "manual" that the policy (mode under
 * MANUAL_ISOLATION_MODE, no breaker) and dispatch (priority, breaker admission) both use. The manual
 * shape relayed on the alert paths (`relay-manual`) is not one: it is an alert, in the deployment's
 * mode and under the breaker like every alert.
 */
export function isManualAlert(alert: Pick<NormalizedAlert, 'source'>): boolean {
  return alert.source === 'manual';
}

/**
 * The alert is the manual shape, an order naming the device to isolate (from the manual API, the CLI
 * or a relay): no policy rule decides it, it isolates as asked, and who asked is in `manual.requestedBy`.
 */
export function isIsolationOrder(alert: Pick<NormalizedAlert, 'source'>): boolean {
  return alert.source === 'manual' || alert.source === 'relay-manual';
}

export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

/** An alert with when it was raised (ms since the epoch): a workspace's history, replayed in order. */
export interface TimedAlert {
  at: number;
  alert: NormalizedAlert;
}
