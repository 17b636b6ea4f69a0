/**
 * The structured record every request ends with: one line per request that an analyst or an App
 * Insights query reads to answer "what happened to this device, why, and how long did it take".
 */
import type { DeviceRef, NormalizedAlert } from '../alerts/model';
import { writeRecord } from '../kernel/invocation-log';
import type { MdeIsolationType, PolicyMode } from '../kernel/vocabulary';
import type { MdeApiName } from '../mde/api';
import type { MachineActionStatus } from '../mde/types';
import type { AbsorbedAlert } from '../state/store';
import type { LearnedCeiling } from './quota/api-budget';
import { type ApprovalSummary, type IsolationRequest, type Requester, verbOf } from './request';

export const OUTCOMES = [
  'succeeded',
  'failed',
  'timed-out',
  'cancelled',
  'skipped',
  'escalated',
  'dry-run',
  'error',
  'tracking-expired',
  'dead-lettered',
  /** Absorbed by the device's open request, which `carriedBy` names and whose outcome is this one's. */
  'coalesced',
  /** Held until people approve it: the approval (`approvalId`) carries it on as a request of its own. */
  'awaiting-approval',
  /** A person denied the approval the isolation was held for; nothing was posted. */
  'denied',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Outcomes where the device did not end up as asked although the policy wanted it to. */
const FAILURES: readonly Outcome[] = [
  'failed',
  'timed-out',
  'cancelled',
  'error',
  'tracking-expired',
  'dead-lettered',
];

export function isFailure(outcome: Outcome): boolean {
  return FAILURES.includes(outcome);
}

export const OUTCOME_OF_STATUS: Readonly<Partial<Record<MachineActionStatus, Outcome>>> = {
  Succeeded: 'succeeded',
  Failed: 'failed',
  TimeOut: 'timed-out',
  Cancelled: 'cancelled',
};

export interface OutcomeRecord {
  event: 'isolation-outcome';
  /** The tenant the request acted in; absent in a single-tenant deployment. */
  tenant?: string;
  outcome: Outcome;
  reason: string;
  requestId: string;
  action: 'isolate' | 'release';
  device: DeviceRef;
  machineId: string | null;
  computerDnsName: string | null;
  isolationType: MdeIsolationType;
  actionId: string | null;
  actionStatus: MachineActionStatus | null;
  /** True when the action was posted by someone else (or an earlier delivery) and taken over. */
  adopted: boolean;
  alert: Pick<NormalizedAlert, 'source' | 'alertId' | 'incidentId' | 'incidentArmId' | 'severity' | 'title'>;
  rule: string;
  requestedBy: Requester;
  policyVersion: string;
  /** The mode the request was decided in. */
  mode: PolicyMode;
  attempts: number;
  deferrals: number;
  /** 429 answers the request met, each answered by its Retry-After (`IsolationRequest.rateLimited`). */
  rateLimited: number;
  /**
   * The lower ceilings 429s taught the budget that were in force when the request ended
   * (docs/decisions/0009-headroom-as-a-share-of-the-rate.md): MDE counted calls this app did not make
   * (a shared identity) or had forgotten (a restart), and the app keeps to what MDE allowed until the
   * window turns over. Absent when none was.
   */
  quotaCeilings?: QuotaCeilingRecord[];
  /** Set on `coalesced`: the request that carries this one. */
  carriedBy?: string;
  /** The alerts this request absorbed (the first few, and how many in all), when it absorbed any. */
  absorbed?: AbsorbedAlerts;
  /** Set on `awaiting-approval`: the approval that holds the isolation now. */
  approvalId?: string;
  /** The approval this request was held for: every decision on it, who, when and why. */
  approval?: ApprovalSummary;
  timings: {
    alertReceivedAt: string;
    postedAt: string | null;
    terminalAt: string;
    receivedToPostedMs: number | null;
    postedToTerminalMs: number | null;
    receivedToTerminalMs: number;
  };
}

/** A ceiling a 429 taught one API's window (quota/api-budget.ts, `LearnedCeiling`), as recorded. */
export interface QuotaCeilingRecord {
  api: MdeApiName;
  windowMs: number;
  /** The window's own limit. */
  limit: number;
  /** The calls allowed in it instead, until `until`. */
  learned: number;
  until: string;
}

export function ceilingRecord(api: MdeApiName, ceiling: LearnedCeiling): QuotaCeilingRecord {
  const { windowMs, limit, learned, until } = ceiling;
  return { api, windowMs, limit, learned, until: new Date(until).toISOString() };
}

export interface AbsorbedAlerts {
  count: number;
  alerts: AbsorbedAlert[];
}

export interface OutcomeDetails {
  outcome: Outcome;
  reason: string;
  machineId?: string | null;
  computerDnsName?: string | null;
  actionStatus?: MachineActionStatus | null;
  /** The action a skip or conflict refers to, when the request tracked none. */
  actionId?: string | null;
  /** Overrides the rule of the request (the device-level decision may name another). */
  rule?: string;
  carriedBy?: string;
  absorbed?: AbsorbedAlerts;
  approvalId?: string;
  /** The ceilings learned from 429s in force as the request ends. */
  quotaCeilings?: readonly { api: MdeApiName; ceiling: LearnedCeiling }[];
}

export function outcomeRecord(
  request: IsolationRequest,
  details: OutcomeDetails,
  terminalAt: number,
): OutcomeRecord {
  const tracking = request.action === 'track' ? request.tracking : null;
  const received = Date.parse(request.receivedAt);
  const posted = tracking ? Date.parse(tracking.postedAt) : null;
  const { alert } = request;
  return {
    event: 'isolation-outcome',
    ...(request.tenantId && { tenant: request.tenantId }),
    outcome: details.outcome,
    reason: details.reason,
    requestId: request.requestId,
    action: verbOf(request),
    device: request.device,
    machineId: details.machineId ?? tracking?.machineId ?? null,
    computerDnsName: details.computerDnsName ?? tracking?.computerDnsName ?? null,
    isolationType: request.isolationType,
    actionId: tracking?.actionId ?? details.actionId ?? null,
    actionStatus: details.actionStatus ?? null,
    adopted: tracking?.adopted ?? false,
    alert: {
      source: alert.source,
      alertId: alert.alertId,
      incidentId: alert.incidentId,
      incidentArmId: alert.incidentArmId ?? null,
      severity: alert.severity,
      title: alert.title,
    },
    rule: details.rule ?? request.rule,
    requestedBy: request.requestedBy,
    policyVersion: request.policyVersion,
    mode: request.mode,
    attempts: request.attempt,
    deferrals: request.deferrals,
    rateLimited: request.rateLimited ?? 0,
    ...(details.quotaCeilings?.length && {
      quotaCeilings: details.quotaCeilings.map(({ api, ceiling }) => ceilingRecord(api, ceiling)),
    }),
    ...(details.carriedBy !== undefined && { carriedBy: details.carriedBy }),
    ...(details.absorbed && { absorbed: details.absorbed }),
    ...(details.approvalId !== undefined && { approvalId: details.approvalId }),
    ...(request.approval && { approval: request.approval }),
    timings: {
      alertReceivedAt: request.receivedAt,
      postedAt: tracking?.postedAt ?? null,
      terminalAt: new Date(terminalAt).toISOString(),
      receivedToPostedMs: posted === null ? null : posted - received,
      postedToTerminalMs: posted === null ? null : terminalAt - posted,
      receivedToTerminalMs: terminalAt - received,
    },
  };
}

/** Where dispatch reports. Records are plain JSON objects; the sink decides how to write them. */
export interface DispatchReporter {
  /** Exactly once per request chain (a posted action's record comes from its tracking). */
  outcome(record: OutcomeRecord): void;
  /** Progress and every retry or dead-letter decision, with its reason. */
  note(level: 'info' | 'warn' | 'error', record: Record<string, unknown>): void;
}

/**
 * `inner`, with `tenant` on every note: a listed tenant's reconciler notes its drift this way, so the
 * record and the notification say whose device drifted. Outcome records carry their own.
 */
export function notingTenant(inner: DispatchReporter, tenantId: string): DispatchReporter {
  return {
    outcome: (record) => inner.outcome(record),
    note: (level, record) => inner.note(level, { tenant: tenantId, ...record }),
  };
}

/**
 * One JSON line per record, written to the log of the Functions invocation doing the work (so App
 * Insights ties it to its operation) or to the console outside one (kernel/invocation-log.ts).
 */
export const jsonLinesReporter: DispatchReporter = {
  outcome(record) {
    writeRecord(isFailure(record.outcome) ? 'error' : 'info', record);
  },
  note(level, record) {
    writeRecord(level, { level, ...record });
  },
};
