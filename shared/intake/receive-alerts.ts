/**
 * The intake use case: a request body to normalized alerts, their stage-1 policy decisions and the
 * isolation requests handed to dispatch. Shared by the HTTP function and the CLI; knows no HTTP.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { DeviceRef, NormalizedAlert } from '../alerts/model';
import { type ParseOutcome, type PayloadProblem, parseAlertPayload } from '../alerts/parse';
import type { DecisionSink, SubmittedRequest } from '../dispatch/sink';
import { strongestIdentifier } from '../kernel/device-label';
import { errorMessage } from '../kernel/errors';
import type { AlertAssessment, BreakerState, Decision, IsolationPolicy } from '../policy/types';
import { StoreUnavailableError } from '../state/store';
import { resolveTenant, SINGLE_TENANT, type TenantDirectory } from '../tenants/lookup';

// Callers of intake (the HTTP function, tests) keep importing the sink contract from here.
export type { DecisionSink, SubmittedRequest };

/** One structured log line; never secrets or headers. */
export type IntakeLogLine = Record<string, string | number | boolean | null>;

export interface IntakeDeps {
  policy: IsolationPolicy;
  /** Absent: decisions are reported but nothing is enqueued (no dispatch wired in). */
  sink?: DecisionSink;
  /**
   * The policy and sink of a listed tenant (MDE_TENANTS), which decide that tenant's alerts with its
   * own breaker; absent, or for an alert of no listed tenant: `policy` and `sink`.
   */
  tenantLane?: (tenantId: string) => { policy: IsolationPolicy; sink: DecisionSink };
  log: (line: IntakeLogLine) => void;
  /** The configured tenants (MDE_TENANTS); absent: one tenant, the deployment's. */
  tenants?: TenantDirectory;
}

export type ReportedDecision = Omit<Decision, 'trace'>;

interface AlertSummary {
  path: string;
  source: NormalizedAlert['source'];
  alertId: string;
  incidentId: string | null;
  title: string;
  severity: NormalizedAlert['severity'];
  firing: boolean;
  devices: DeviceRef[];
  /** Lists cut to their cap, and how many entries the alert named in each (see NormalizedAlert). */
  truncated?: NormalizedAlert['truncated'];
}

export type AlertReport =
  | (AlertSummary & {
      status: 'accepted';
      decisions: ReportedDecision[];
      requestIds: string[];
      requests: SubmittedRequest[];
    })
  | { path: string; status: 'rejected'; error: PayloadProblem }
  /** Parsed, but deciding or enqueueing failed: not accepted, the sender should retry. */
  | (AlertSummary & {
      status: 'failed';
      error: { code: (typeof FAILURES)[keyof typeof FAILURES]['code']; message: string };
    });

export interface IntakeResult {
  accepted: number;
  rejected: number;
  failed: number;
  alerts: AlertReport[];
}

function summary(path: string, alert: NormalizedAlert): AlertSummary {
  return {
    path,
    source: alert.source,
    alertId: alert.alertId,
    incidentId: alert.incidentId,
    title: alert.title,
    severity: alert.severity,
    firing: alert.firing,
    devices: alert.devices,
    ...(alert.truncated && { truncated: alert.truncated }),
  };
}

function alertFields(alert: NormalizedAlert): IntakeLogLine {
  return {
    source: alert.source,
    alertId: alert.alertId,
    incidentId: alert.incidentId,
    severity: alert.severity,
    firing: alert.firing,
    ...(alert.truncated && { truncated: truncationText(alert.truncated) }),
    ...(alert.tenantId && { tenant: alert.tenantId }),
  };
}

/** `devices=80000 categories=64000`: what was cut, and how many the alert named. */
function truncationText(truncated: NonNullable<NormalizedAlert['truncated']>): string {
  return Object.entries(truncated)
    .map(([list, named]) => `${list}=${named}`)
    .join(' ');
}

function deviceLabel(device: DeviceRef): string {
  // `{}`: the one decision on an alert over the device cap.
  return strongestIdentifier(device)?.value ?? 'whole alert';
}

function logDecisions(
  log: IntakeDeps['log'],
  alert: NormalizedAlert,
  decisions: Decision[],
  requests: SubmittedRequest[],
) {
  if (decisions.length === 0) {
    log({ event: 'alert-received', ...alertFields(alert), devices: alert.devices.length, decision: 'none' });
    return;
  }
  decisions.forEach((decision, index) => {
    const request = requests.find((r) => r.decisionIndex === index);
    log({
      event: 'alert-decision',
      ...alertFields(alert),
      device: deviceLabel(decision.device),
      action: decision.action,
      isolationType: decision.isolationType,
      rule: decision.rule,
      reason: decision.reason,
      policyVersion: decision.policyVersion,
      mode: decision.mode,
      requestId: request?.requestId ?? null,
      duplicate: request?.duplicate ?? false,
      carriedBy: request?.carriedBy ?? null,
    });
  });
}

const FAILURES = {
  state: {
    code: 'state-unavailable',
    message:
      'the shared state (blast-radius breaker, open requests) could not be read or updated; retry later',
  },
  decide: { code: 'decision-failed', message: 'the policy could not decide this alert; retry later' },
  enqueue: { code: 'enqueue-failed', message: 'the isolation requests could not be queued; retry later' },
} as const;

/** The cause goes to the log only; the sender learns which stage failed and that a retry is expected. */
function failed(
  path: string,
  alert: NormalizedAlert,
  deps: IntakeDeps,
  stage: keyof typeof FAILURES,
  error: unknown,
): AlertReport {
  deps.log({ event: 'alert-failed', ...alertFields(alert), stage, error: errorMessage(error) });
  return { ...summary(path, alert), status: 'failed', error: { ...FAILURES[stage] } };
}

/** An alert decided in order (its breaker view includes every earlier alert's), not yet submitted. */
interface DecidedAlert {
  path: string;
  alert: NormalizedAlert;
  decisions: Decision[];
}

/**
 * Reads the breaker, decides, and opens the breaker when the alert trips it. Alerts are decided one
 * after the other, so the alert after one that trips the breaker is decided with it open.
 */
async function decide(
  path: string,
  alert: NormalizedAlert,
  deps: IntakeDeps,
): Promise<DecidedAlert | AlertReport> {
  const { policy, sink } = laneOf(alert, deps);
  let breaker: BreakerState | undefined;
  try {
    breaker = await sink?.breakerState();
  } catch (error) {
    return failed(path, alert, deps, 'state', error);
  }
  let assessment: AlertAssessment;
  try {
    assessment = policy.assessAlert(alert, { breaker });
  } catch (error) {
    return failed(path, alert, deps, 'decide', error);
  }
  const { decisions, opensBreaker } = assessment;
  if (opensBreaker && sink) {
    try {
      await sink.openBreaker(opensBreaker);
    } catch (error) {
      return failed(path, alert, deps, 'state', error);
    }
    deps.log({ event: 'breaker-opened', ...alertFields(alert), reason: opensBreaker });
  }
  return { path, alert, decisions };
}

/** Who decides `alert`: its tenant's policy and sink, or the deployment's. */
function laneOf(alert: NormalizedAlert, deps: IntakeDeps): Pick<IntakeDeps, 'policy' | 'sink'> {
  return alert.tenantId !== undefined && deps.tenantLane ? deps.tenantLane(alert.tenantId) : deps;
}

/**
 * The alert with its tenant, or its refusal: in a multi-tenant deployment an alert of no configured
 * tenant is never decided, so nothing of it can reach another tenant's devices (docs/decisions/0029-many-tenants.md).
 */
function withTenant(path: string, alert: NormalizedAlert, deps: IntakeDeps): NormalizedAlert | AlertReport {
  const resolution = resolveTenant(deps.tenants ?? SINGLE_TENANT, alert.origin);
  if (resolution.kind === 'deployment') return alert;
  if (resolution.kind === 'tenant') return { ...alert, tenantId: resolution.tenant.tenantId };
  const { code, message } = resolution;
  deps.log({ event: 'alert-rejected', path, code, ...alertFields(alert) });
  return { path, status: 'rejected', error: { code, message: `${path}: ${message}`, path } };
}

/** A slice's item after deciding: an alert to submit, a report already made, or a rejected item. */
type SliceItem = DecidedAlert | AlertReport | Extract<ParseOutcome, { problem: PayloadProblem }>;

/** The report of an item in a slice: decided alerts are submitted, the others reported as they are. */
async function carry(item: SliceItem, deps: IntakeDeps): Promise<AlertReport> {
  if ('problem' in item) {
    deps.log({ event: 'alert-rejected', path: item.path, code: item.problem.code });
    return { path: item.path, status: 'rejected', error: item.problem };
  }
  return 'status' in item ? item : submit(item, deps);
}

async function submit({ path, alert, decisions }: DecidedAlert, deps: IntakeDeps): Promise<AlertReport> {
  let requests: SubmittedRequest[] = [];
  const { sink } = laneOf(alert, deps);
  if (sink) {
    try {
      requests = await sink.submit(alert, decisions);
    } catch (error) {
      // Coalescing reads the device's open request from the store: without it the alert is not accepted.
      return failed(path, alert, deps, error instanceof StoreUnavailableError ? 'state' : 'enqueue', error);
    }
  }
  logDecisions(deps.log, alert, decisions, requests);
  return {
    ...summary(path, alert),
    status: 'accepted',
    decisions: decisions.map(({ trace: _trace, ...decision }) => decision),
    requestIds: requests.map((r) => r.requestId),
    requests,
  };
}

/**
 * Alerts carried through together, between two turns of the event loop. Deciding and queueing never
 * wait on I/O in inline mode, so without a pause a batch of 1,000 (or a storm of requests) would hold
 * the loop until its last alert, and no isolation would be posted meanwhile: the quota windows would
 * then replay that lag (docs/architecture.md §2.1). Over a state store that answers in milliseconds,
 * a slice's alerts wait on it together rather than one after the other.
 */
export const INTAKE_SLICE = 25;

/**
 * Slices of one call waiting on the store at once: the next slice is decided and submitted while the
 * one before waits, so a batch costs about one slice's round trips (a first alert about a device: a
 * read, then a write after it is queued) per slice, not two, and the worker beside it is not starved
 * of alerts by intake's waits. Bounds the store writes and queue sends one call has in flight.
 */
const SLICES_IN_FLIGHT = 2;

/**
 * Parses any accepted body and carries every alert through; one bad item never sinks the others.
 * Within a slice, alerts are decided in order and then submitted together: the sink keeps the order
 * of the alerts about one device (docs/architecture.md §4.7) in the order they are submitted, slice
 * after slice, and the rest wait on the store at once.
 */
export async function receiveAlerts(body: unknown, deps: IntakeDeps): Promise<IntakeResult> {
  const outcomes = parseAlertPayload(body);
  const slices: Promise<AlertReport[]>[] = [];
  for (let start = 0; start < outcomes.length; start += INTAKE_SLICE) {
    if (start > 0) await yieldToEventLoop();
    if (slices.length >= SLICES_IN_FLIGHT) await slices[slices.length - SLICES_IN_FLIGHT];
    const decided: SliceItem[] = [];
    for (const outcome of outcomes.slice(start, start + INTAKE_SLICE)) {
      const alert = 'problem' in outcome ? outcome : withTenant(outcome.path, outcome.alert, deps);
      decided.push('status' in alert || 'problem' in alert ? alert : await decide(outcome.path, alert, deps));
    }
    const carried = Promise.all(decided.map((item) => carry(item, deps)));
    // Awaited below with the others; until then its failure must not go unhandled.
    carried.catch(() => undefined);
    slices.push(carried);
  }
  const alerts = (await Promise.all(slices)).flat();
  const count = (status: AlertReport['status']) => alerts.filter((a) => a.status === status).length;
  return { accepted: count('accepted'), rejected: count('rejected'), failed: count('failed'), alerts };
}
