/**
 * The contract between the policy and its callers (intake, worker, CLI). The policy decides; callers
 * never reinterpret a decision, they only carry it out or report it.
 */
import type { DeviceRef, NormalizedAlert } from '../alerts/model';
import type { ManualMode, MdeIsolationType, PolicyMode } from '../kernel/vocabulary';
import type { Machine } from '../mde/types';
import type { OnExpiry, OnLift, OnTimeout, PolicyDocument } from './document';

export const DECISION_ACTIONS = ['isolate', 'skip', 'escalate'] as const;
export type DecisionAction = (typeof DECISION_ACTIONS)[number];

export interface RuleTraceEntry {
  /** Rule or protection name. */
  rule: string;
  matched: boolean;
  /** Which condition failed, or why it matched. */
  why: string;
}

export interface Decision {
  /** `{}` for the one decision on a whole alert that names more devices than an alert may carry. */
  device: DeviceRef;
  action: DecisionAction;
  isolationType: MdeIsolationType;
  /** Name of the rule or protection that decided (or a built-in such as `not-firing`, `blast-radius`). */
  rule: string;
  /** One sentence a SOC analyst understands. */
  reason: string;
  policyVersion: string;
  /** A dry-run decision is reported but never posted. */
  mode: PolicyMode;
  /** True when the decision rests on device-level conditions the worker must still check on the machine record. */
  needsDeviceCheck: boolean;
  /** The rules tried, in order; only when asked for. */
  trace?: RuleTraceEntry[];
  /** An isolation a rule or protection holds until people approve it (shared/approvals/). */
  approval?: ApprovalTerms;
}

/** What an isolation held for approval waits for, as the policy asks it. */
export interface ApprovalTerms {
  /** The rule or protection that asks. */
  askedBy: string;
  expiresAfterMs: number;
  onExpiry: OnExpiry;
  /** Distinct people who must approve. */
  approvers: 1 | 2;
}

/** The blast-radius breaker as decisions see it; the shared breaker itself lives in the state store. */
export interface BreakerState {
  open: boolean;
  /** Why it opened, if open. */
  reason: string | null;
}

export interface DecideOptions {
  trace?: boolean;
  now?: Date;
  /** The breaker now; closed when not given. An open breaker escalates every automatic isolation. */
  breaker?: BreakerState;
}

/** The policy's blast-radius limits, which the callers apply with the shared breaker. */
export interface BlastRadiusLimits {
  maxDevicesPerAlert: number;
  /** Automatic isolations allowed per rolling window. */
  maxIsolations: number;
  windowMs: number;
}

/** Stage 1 with what the caller must do about the breaker. */
export interface AlertAssessment {
  decisions: Decision[];
  /** Set when one alert named more devices than allowed: the caller opens the breaker with this reason. */
  opensBreaker: string | null;
}

export interface IsolationPolicy {
  readonly version: string;
  /** The isolation mode: the document's, or ISOLATION_MODE's. */
  readonly mode: PolicyMode;
  /** The document it was made of: what a listed tenant's override is merged onto (tenants/policy.ts). */
  readonly document: PolicyDocument;
  /** MANUAL_ISOLATION_MODE: whether a person's request follows `mode` or is enforced. */
  readonly manualMode: ManualMode;
  /** The mode a decision on this alert is taken in: `mode`, except for a person's request under MANUAL_ISOLATION_MODE=enforce. */
  modeFor(alert: Pick<NormalizedAlert, 'source'>): PolicyMode;
  readonly blastRadius: BlastRadiusLimits;
  /**
   * Stage 1, at intake: alert-level conditions only, no API call. One decision per device of the
   * alert, or one for the whole alert when it names more than MAX_DEVICES_PER_ALERT.
   */
  assessAlert(alert: NormalizedAlert, options?: DecideOptions): AlertAssessment;
  /** `assessAlert`'s decisions alone (what-if, tests). */
  decideAlert(alert: NormalizedAlert, options?: DecideOptions): Decision[];
  /** Stage 2, in the worker: with the machine record, device conditions, protections and platform support. */
  decideDevice(
    alert: NormalizedAlert,
    device: DeviceRef,
    machine: Machine,
    options?: DecideOptions,
  ): Decision;
  /** The MDE `Comment` for the action: who asked, why, alert, incident, policy version; within the API's length. */
  comment(alert: NormalizedAlert, decision: Decision, requestedBy?: string): string;
  /** The MDE `Comment` of a release, which no rule decides: who asked, why, alert, incident, policy version. */
  releaseComment(alert: NormalizedAlert, requestedBy: string, rule: string): string;
  /**
   * The life the isolate rule named `rule` gives an isolation: its time box in ms (`isolateFor`; null:
   * none) and what happens at MDE's lift (`onLift`). No such rule: neither.
   */
  lifetimeOf(rule: string): { isolateForMs: number | null; onLift: OnLift };
  /** What the rule of that name asks when its isolation ends TimeOut; null when it asks nothing (or is gone). */
  onTimeoutOf(rule: string): OnTimeout | null;
}
