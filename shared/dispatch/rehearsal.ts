/**
 * A policy rehearsed on a history of alerts (`whatif --workspace`, docs/architecture.md §2.3): every
 * alert decided in time order as intake decides it (stage 1, the alert alone: no machine record is
 * read), as if the policy enforced; the shared breaker's own steps (state/breaker-document.ts) run on
 * the alerts' clock; a device isolated once until its isolation ends (the rule's time box or MDE's
 * lift); and the isolate calls placed as early as the quota allows (quota/optimum.ts), which is the
 * best any throttle can do.
 */
import type { TimedAlert } from '../alerts/model';
import type { RateWindow } from '../config';
import { deviceDisplayName, strongestIdentifier } from '../kernel/device-label';
import type { MdeIsolationType, PolicyMode } from '../kernel/vocabulary';
import type { Decision, DecisionAction, IsolationPolicy } from '../policy/types';
import {
  type BreakerDocument,
  commit,
  EMPTY_BREAKER,
  reserve,
  status,
  trip,
} from '../state/breaker-document';
import { quotaOptimalSpanMs, quotaSchedule } from './quota/optimum';
import { breakerLimits } from './steps/blast-radius';

/** What became of one device over the whole history. */
export interface DeviceVerdict {
  /** Its strongest identifier as `kind:value`: what two rehearsals are compared on. */
  key: string;
  /** For a person. */
  name: string;
  /** The strongest outcome any alert gave it: isolate, else escalate, else skip. */
  action: DecisionAction;
  /** Set for an isolation: Full, Selective or UnManagedDevice. */
  isolationType: MdeIsolationType | null;
  rule: string;
  reason: string;
  /** Alerts that named it. */
  alerts: number;
  /** When it first got that outcome (ISO 8601). */
  at: string;
}

export interface BreakerOpening {
  at: string;
  reason: string;
}

export interface Rehearsal {
  policyVersion: string;
  /** The policy's own mode; the rehearsal decides as if it enforced. */
  mode: PolicyMode;
  alerts: number;
  /** Alerts that named no device: nothing to decide, counted so none goes unseen. */
  alertsWithoutDevice: number;
  /** Decisions by action, one per device an alert named (one for an alert decided whole). */
  decisions: Record<DecisionAction, number>;
  breaker: { openings: number; first: BreakerOpening[] };
  quota: {
    isolateCalls: number;
    /** The longest any isolation would have waited for the quota after its alert. */
    longestWaitMs: number;
    /** How long the same calls would take if they all came at once. */
    allAtOnceMs: number;
  };
  /** Isolated first, then escalated, then skipped; by name within each. */
  devices: DeviceVerdict[];
}

export interface RehearsalSettings {
  rateLimits: readonly RateWindow[];
  platformLiftMs: number;
}

/** Openings listed with their time and reason; the count is always whole. */
export const OPENINGS_LISTED = 20;
/** Reservations are committed in the same step; the TTL only has to outlive it. */
const RESERVATION_TTL_MS = 60_000;
const RANK: Record<DecisionAction, number> = { skip: 0, escalate: 1, isolate: 2 };

function deviceKey(decision: Decision, alertId: string): { key: string; name: string } {
  const strongest = strongestIdentifier(decision.device);
  if (!strongest) return { key: `alert:${alertId}`, name: `(every device of alert ${alertId})` };
  return {
    key: `${strongest.kind}:${strongest.value.toLowerCase()}`,
    name: deviceDisplayName(decision.device) ?? strongest.value,
  };
}

class RehearsalRun {
  private breaker: BreakerDocument = EMPTY_BREAKER;
  private readonly limits;
  private readonly isolatedUntil = new Map<string, number>();
  private readonly devices = new Map<string, DeviceVerdict>();
  private readonly isolateDueAt: number[] = [];
  private readonly openings: BreakerOpening[] = [];
  private openingCount = 0;
  private alertsWithoutDevice = 0;
  readonly decisions: Record<DecisionAction, number> = { isolate: 0, escalate: 0, skip: 0 };

  constructor(
    private readonly policy: IsolationPolicy,
    private readonly settings: RehearsalSettings,
  ) {
    this.limits = breakerLimits(policy);
  }

  private isOpen(at: number): boolean {
    return status(this.breaker, at, this.limits, RESERVATION_TTL_MS).open;
  }

  private opened(at: number, reason: string): void {
    this.openingCount += 1;
    if (this.openings.length < OPENINGS_LISTED)
      this.openings.push({ at: new Date(at).toISOString(), reason });
  }

  decide({ at, alert }: TimedAlert): void {
    const state = status(this.breaker, at, this.limits, RESERVATION_TTL_MS);
    const assessment = this.policy.assessAlert(alert, {
      now: new Date(at),
      breaker: { open: state.open, reason: state.reason },
    });
    if (assessment.decisions.length === 0) this.alertsWithoutDevice += 1;
    if (assessment.opensBreaker && !state.open) {
      this.breaker = trip(this.breaker, at, assessment.opensBreaker);
      this.opened(at, assessment.opensBreaker);
    }
    for (const decision of assessment.decisions) this.record(at, alert.alertId, this.carryOut(at, decision));
  }

  /** An isolation as the worker would meet it: already in force, or admitted by the breaker, or held. */
  private carryOut(at: number, decision: Decision): Decision {
    if (decision.action !== 'isolate') return decision;
    const { key } = deviceKey(decision, '');
    if ((this.isolatedUntil.get(key) ?? 0) > at) return decision;
    const wasOpen = this.isOpen(at);
    const { doc, admission } = reserve(this.breaker, at, { manual: false }, this.limits, RESERVATION_TTL_MS);
    this.breaker = doc;
    if (!admission.allowed) {
      if (!wasOpen && admission.open) this.opened(at, admission.reason);
      // As the worker ends such a request (steps/worker.ts `admit`).
      return { ...decision, action: 'escalate', rule: 'blast-radius', reason: admission.reason };
    }
    const actionId = `rehearsal-${this.isolateDueAt.length}`;
    this.breaker = commit(
      this.breaker,
      at,
      { reservationId: admission.reservationId, actionId },
      RESERVATION_TTL_MS,
    );
    this.isolateDueAt.push(at);
    const timeBox = this.policy.lifetimeOf(decision.rule).isolateForMs;
    this.isolatedUntil.set(
      key,
      at + Math.min(timeBox ?? Number.POSITIVE_INFINITY, this.settings.platformLiftMs),
    );
    return decision;
  }

  private record(at: number, alertId: string, decision: Decision): void {
    this.decisions[decision.action] += 1;
    const { key, name } = deviceKey(decision, alertId);
    const known = this.devices.get(key);
    if (known) known.alerts += 1;
    if (known && RANK[known.action] >= RANK[decision.action]) return;
    this.devices.set(key, {
      key,
      name,
      action: decision.action,
      isolationType: decision.action === 'isolate' ? decision.isolationType : null,
      rule: decision.rule,
      reason: decision.reason,
      alerts: known?.alerts ?? 1,
      at: new Date(at).toISOString(),
    });
  }

  result(alerts: number): Rehearsal {
    const sent = quotaSchedule(this.isolateDueAt, this.settings.rateLimits);
    const longestWaitMs = sent.reduce((longest, t, k) => Math.max(longest, t - this.isolateDueAt[k]), 0);
    return {
      policyVersion: this.policy.version,
      mode: this.policy.mode,
      alerts,
      alertsWithoutDevice: this.alertsWithoutDevice,
      decisions: this.decisions,
      breaker: { openings: this.openingCount, first: this.openings },
      quota: {
        isolateCalls: this.isolateDueAt.length,
        longestWaitMs,
        allAtOnceMs: quotaOptimalSpanMs(this.isolateDueAt.length, this.settings.rateLimits),
      },
      devices: [...this.devices.values()].sort(
        (a, b) => RANK[b.action] - RANK[a.action] || a.name.localeCompare(b.name),
      ),
    };
  }
}

/** `alerts` in any order; they are decided oldest first. */
export function rehearse(
  policy: IsolationPolicy,
  alerts: readonly TimedAlert[],
  settings: RehearsalSettings,
): Rehearsal {
  const run = new RehearsalRun(policy, settings);
  for (const timed of [...alerts].sort((a, b) => a.at - b.at)) run.decide(timed);
  return run.result(alerts.length);
}

/** One device two policies treat differently. */
export interface DeviceDifference {
  key: string;
  name: string;
  base: DeviceOutcome;
  other: DeviceOutcome;
}

type DeviceOutcome = Pick<DeviceVerdict, 'action' | 'isolationType' | 'rule'>;

function outcomeOf({ action, isolationType, rule }: DeviceVerdict): DeviceOutcome {
  return { action, isolationType, rule };
}

/**
 * Devices whose outcome (the action, and for an isolation its type) differs between two rehearsals
 * of one history, in `base`'s order. One history names the same devices whatever the policy.
 */
export function compareRehearsals(base: Rehearsal, other: Rehearsal): DeviceDifference[] {
  const others = new Map(other.devices.map((d) => [d.key, d]));
  return base.devices.flatMap((a) => {
    const b = others.get(a.key);
    if (!b || (a.action === b.action && a.isolationType === b.isolationType)) return [];
    return [{ key: a.key, name: a.name, base: outcomeOf(a), other: outcomeOf(b) }];
  });
}
