/**
 * The contract between the policy and its callers (intake, worker, CLI). The policy decides; callers
 * never reinterpret a decision, they only carry it out or report it.
 */
import type { DeviceRef, NormalizedAlert } from '../alerts/model';
import type { IsolationType, PolicyMode } from '../kernel/vocabulary';
import type { Machine } from '../mde/types';

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
  isolationType: IsolationType;
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
}

export interface DecideOptions {
  trace?: boolean;
  now?: Date;
}

/**
 * `reservation` is the slot held for this isolation until `commit` or `release`. `wait`: refused only
 * because isolations in flight may reach the limit; asking again once they are answered may succeed.
 */
export type BreakerAdmission =
  | { allowed: true; reservation: string }
  | { allowed: false; reason: string; wait?: true };

export interface BreakerStatus {
  open: boolean;
  /** Isolations MDE accepted in the current rolling window (manual ones included). */
  count: number;
  /** Slots reserved by isolations being posted, not yet committed or released. */
  reserved: number;
  limit: number;
  windowMs: number;
  /** When the breaker closes again by itself, if open. */
  closesAt: Date | null;
  /** Why it opened, if open. */
  reason: string | null;
}

/** Rolling-window cap on automatic isolations; lives in the worker's process (one instance). */
export interface BlastRadiusBreaker {
  /**
   * Called just before an isolate is posted: holds a slot until `commit` or `release`, or until it
   * expires (its holder died). Manual requests are counted but always allowed.
   */
  reserve(now: Date, options: { manual: boolean }): BreakerAdmission;
  /** MDE accepted isolation `actionId`: counted once per action, with or without a reservation. */
  commit(actionId: string, now: Date, reservation?: string): void;
  /** The POST failed: the slot is free again. */
  release(reservation: string): void;
  reset(): void;
  status(now: Date): BreakerStatus;
}

export interface IsolationPolicy {
  readonly version: string;
  readonly mode: PolicyMode;
  readonly breaker: BlastRadiusBreaker;
  /**
   * Stage 1, at intake: alert-level conditions only, no API call. One decision per device of the
   * alert, or one for the whole alert when it names more than MAX_DEVICES_PER_ALERT.
   */
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
}
