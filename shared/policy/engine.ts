/**
 * The isolation policy: turns an alert (and, in the worker, the machine record) into one decision per
 * device. Order of precedence, each step explained in the decision's reason and trace:
 *   resolved alert → protections → manual request or first matching rule → platform support →
 *   blast radius (per alert at intake, rolling window always) → mode.
 * Protections, platform and blast radius only ever weaken an isolation; nothing here creates one.
 * The policy holds no state: the shared breaker's state comes in (`DecideOptions.breaker`) and the
 * request to open it goes out (`AlertAssessment.opensBreaker`); the breaker lives in the state store.
 */
import {
  type DeviceRef,
  isIsolationOrder,
  isManualAlert,
  MAX_DEVICES_PER_ALERT,
  type NormalizedAlert,
} from '../alerts/model';
import { lastSegment } from '../kernel/arm-id';
import { deviceIdForDisplay, deviceName, type MachineNames } from '../kernel/device-label';
import { parseDuration } from '../kernel/duration';
import { oneLine } from '../kernel/text';
import type { ManualMode, MdeIsolationType, PolicyMode } from '../kernel/vocabulary';
import type { Machine } from '../mde/types';
import { DEFAULT_COMMENT_TEMPLATE, RELEASE_COMMENT_TEMPLATE, renderComment } from './comment';
import {
  type CompiledProtection,
  type CompiledRule,
  compileProtection,
  compileRule,
  type Evaluation,
} from './conditions';
import {
  type ApprovalSpec,
  BLAST_RADIUS_DEFAULTS,
  COMMENT_MAX_LENGTH,
  effectiveMode,
  type OnLift,
  type OnTimeout,
  type PolicyDocument,
  type ProtectionAction,
} from './document';
import { isolationUnsupported } from './platform';
import type {
  AlertAssessment,
  ApprovalTerms,
  BlastRadiusLimits,
  DecideOptions,
  Decision,
  DecisionAction,
  IsolationPolicy,
  RuleTraceEntry,
} from './types';

interface Outcome {
  action: DecisionAction;
  isolationType: MdeIsolationType;
  rule: string;
  /** What decided, after the alert and device summary. */
  why: string;
  /** Held until people approve it: the rule's or protection's terms. */
  approval?: ApprovalTerms;
}

/** Records a trace step; a no-op unless a trace was asked for, so explanations cost nothing otherwise. */
type Note = (rule: string, matched: boolean, why: () => string) => void;

interface Matched {
  protection: CompiledProtection;
  evaluation: Evaluation;
}

/**
 * Explanations quote alert text (categories, names, ids), which an attacker can shape: each quote is
 * one line and short, and the whole reason and each trace step are bounded, so a reason stays one
 * sentence in logs, reports and the CLI.
 */
const QUOTE_MAX_LENGTH = 80;
const REASON_MAX_LENGTH = 1000;
const TRACE_STEP_MAX_LENGTH = 500;

/** Enough of an id to find it again: the last segment of an ARM id, cut to 12 characters. */
function shortId(id: string): string {
  const last = oneLine(lastSegment(id) ?? id, QUOTE_MAX_LENGTH);
  return last.length > 14 ? `${last.slice(0, 12)}…` : last;
}

function alertSummary(alert: NormalizedAlert): string {
  const label = alert.categories[0] ? `${oneLine(alert.categories[0], QUOTE_MAX_LENGTH)} ` : '';
  return `${alert.severity}-severity ${label}alert ${shortId(alert.alertId)}`;
}

function deviceLabel(device: DeviceRef, machine: Machine | null): string {
  const known: MachineNames = { computerDnsName: machine?.computerDnsName, machineId: machine?.id };
  const name = deviceName(device, known);
  const id = deviceIdForDisplay(device, known);
  const label = name ? oneLine(name.split('.')[0], QUOTE_MAX_LENGTH) : id ? shortId(id) : 'unnamed device';
  return machine?.osPlatform ? `${label} (${oneLine(machine.osPlatform, QUOTE_MAX_LENGTH)})` : label;
}

/** The one-sentence reason of a decision: what alert, on which device, and why this action. */
function explain(alert: NormalizedAlert, device: DeviceRef, machine: Machine | null, why: string): string {
  return oneLine(`${alertSummary(alert)} on ${deviceLabel(device, machine)}: ${why}.`, REASON_MAX_LENGTH);
}

function protectionAction(protection: CompiledProtection): ProtectionAction {
  return protection.spec.action ?? 'escalate';
}

function termsOf(spec: ApprovalSpec, askedBy: string): ApprovalTerms {
  return {
    askedBy,
    // Validation proved the form and bound (validate.ts).
    expiresAfterMs: parseDuration(spec.expiresAfter) ?? 0,
    onExpiry: spec.onExpiry,
    approvers: spec.approvers ?? 1,
  };
}

/** Both asks at once: the stricter count, the protection's deadline and expiry (it is the reason). */
function strictest(rule: ApprovalTerms | undefined, protection: ApprovalTerms): ApprovalTerms {
  if (!rule) return protection;
  return {
    ...protection,
    approvers: rule.approvers === 2 ? 2 : protection.approvers,
  };
}

function actionText(outcome: Pick<Outcome, 'action' | 'isolationType'>): string {
  return outcome.action === 'isolate' ? `isolate (${outcome.isolationType})` : outcome.action;
}

class Policy implements IsolationPolicy {
  readonly version: string;
  readonly blastRadius: BlastRadiusLimits;
  private readonly rules: CompiledRule[];
  private readonly protections: CompiledProtection[];
  private readonly defaultAction: 'skip' | 'escalate';
  private readonly commentTemplate: string;
  private readonly commentMaxLength: number;

  constructor(
    readonly document: PolicyDocument,
    readonly mode: PolicyMode,
    readonly manualMode: ManualMode,
  ) {
    this.version = document.version;
    this.rules = document.rules.map(compileRule);
    this.protections = (document.protections ?? []).map(compileProtection);
    this.defaultAction = document.defaultAction ?? 'skip';
    const blast = { ...BLAST_RADIUS_DEFAULTS, ...document.blastRadius };
    this.blastRadius = {
      maxDevicesPerAlert: blast.maxDevicesPerAlert,
      maxIsolations: blast.maxIsolations,
      windowMs: blast.windowMinutes * 60_000,
    };
    this.commentTemplate = document.comment?.template ?? DEFAULT_COMMENT_TEMPLATE;
    this.commentMaxLength = document.comment?.maxLength ?? COMMENT_MAX_LENGTH;
  }

  lifetimeOf(rule: string): { isolateForMs: number | null; onLift: OnLift } {
    const spec = this.rules.find((r) => r.spec.name === rule)?.spec;
    return {
      isolateForMs: spec?.isolateFor === undefined ? null : parseDuration(spec.isolateFor),
      onLift: spec?.onLift ?? 'let-lift',
    };
  }

  modeFor(alert: Pick<NormalizedAlert, 'source'>): PolicyMode {
    return this.manualMode === 'enforce' && isManualAlert(alert) ? 'enforce' : this.mode;
  }

  onTimeoutOf(rule: string): OnTimeout | null {
    return this.rules.find((r) => r.spec.name === rule)?.spec.onTimeout ?? null;
  }

  decideAlert(alert: NormalizedAlert, options: DecideOptions = {}): Decision[] {
    return this.assessAlert(alert, options).decisions;
  }

  assessAlert(alert: NormalizedAlert, options: DecideOptions = {}): AlertAssessment {
    const whole = this.decideWhole(alert, options);
    if (whole) return { decisions: [whole], opensBreaker: null };
    const decisions = alert.devices.map((device) => this.decide(alert, device, null, options));
    const isolating = decisions.filter((d) => d.action === 'isolate');
    const { maxDevicesPerAlert } = this.blastRadius;
    if (isManualAlert(alert) || isolating.length <= maxDevicesPerAlert)
      return { decisions, opensBreaker: null };
    // One alert naming many devices is a false positive or an outbreak: either way a person decides,
    // and the breaker opens so the next alerts of the same storm are held too.
    const limit = `${isolating.length} devices to isolate, more than the ${maxDevicesPerAlert} allowed per alert`;
    const opensBreaker = `blast-radius breaker open: alert ${oneLine(alert.alertId, QUOTE_MAX_LENGTH)} named ${limit}`;
    const escalated = decisions.map((decision): Decision => {
      if (decision.action !== 'isolate') return decision;
      const why = `the alert names ${limit} (breaker opened); rule ${decision.rule} would isolate it, a person must decide`;
      const trace = decision.trace && [...decision.trace, { rule: 'blast-radius', matched: true, why }];
      return {
        ...decision,
        action: 'escalate',
        rule: 'blast-radius',
        reason: explain(alert, decision.device, null, why),
        needsDeviceCheck: false,
        ...(trace && { trace }),
      };
    });
    return { decisions: escalated, opensBreaker };
  }

  /**
   * An alert over MAX_DEVICES_PER_ALERT is one decision, without trying a rule on any device: nothing
   * is isolated from it, a person decides, and the response and logs carry one entry, not thousands.
   * The breaker is left alone: such an alert may match no rule at all, and whoever can post one must
   * not be able to hold automation off for a window.
   */
  private decideWhole(alert: NormalizedAlert, options: DecideOptions): Decision | null {
    const named = alert.truncated?.devices;
    if (named === undefined) return null;
    const [action, rule, why] = alert.firing
      ? ([
          'escalate',
          'blast-radius',
          `the alert names ${named} devices, more than the ${MAX_DEVICES_PER_ALERT} one alert may name; none is isolated, a person must decide`,
        ] as const)
      : (['skip', 'not-firing', 'alert is resolved/closed; nothing to isolate'] as const);
    return {
      device: {},
      action,
      isolationType: 'Full',
      rule,
      reason: oneLine(`${alertSummary(alert)}: ${why}.`, REASON_MAX_LENGTH),
      policyVersion: this.version,
      mode: this.modeFor(alert),
      needsDeviceCheck: false,
      ...(options.trace && { trace: [{ rule, matched: true, why }] }),
    };
  }

  decideDevice(
    alert: NormalizedAlert,
    device: DeviceRef,
    machine: Machine,
    options: DecideOptions = {},
  ): Decision {
    return this.decide(alert, device, machine, options);
  }

  comment(alert: NormalizedAlert, decision: Decision, requestedBy?: string): string {
    return renderComment(
      this.commentTemplate,
      {
        rule: decision.rule,
        action: decision.action,
        isolationType: decision.isolationType,
        reason: decision.reason,
        alertId: alert.alertId,
        incidentId: alert.incidentId ?? 'none',
        source: alert.source,
        severity: alert.severity,
        title: alert.title,
        requestedBy: requestedBy ?? alert.manual?.requestedBy ?? 'automation',
        policyVersion: this.version,
        mode: this.modeFor(alert),
      },
      this.commentMaxLength,
    );
  }

  releaseComment(alert: NormalizedAlert, requestedBy: string, rule: string): string {
    return renderComment(RELEASE_COMMENT_TEMPLATE, {
      rule,
      action: 'release',
      isolationType: '',
      reason: alert.manual?.comment ?? alert.title,
      alertId: alert.alertId,
      incidentId: alert.incidentId ?? '-',
      source: alert.source,
      severity: alert.severity,
      title: alert.title,
      requestedBy,
      policyVersion: this.version,
      mode: this.modeFor(alert),
    });
  }

  /** Both stages: `machine` null is intake, where device conditions are still unknown. */
  private decide(
    alert: NormalizedAlert,
    device: DeviceRef,
    machine: Machine | null,
    options: DecideOptions,
  ): Decision {
    const trace: RuleTraceEntry[] | null = options.trace ? [] : null;
    const note: Note = (rule, matched, why) =>
      trace?.push({ rule, matched, why: oneLine(why(), TRACE_STEP_MAX_LENGTH) });
    const decision = (outcome: Outcome, needsDeviceCheck: boolean): Decision => ({
      device,
      action: outcome.action,
      isolationType: outcome.isolationType,
      rule: outcome.rule,
      reason: explain(alert, device, machine, outcome.why),
      policyVersion: this.version,
      mode: this.modeFor(alert),
      needsDeviceCheck,
      ...(trace && { trace }),
      ...(outcome.action === 'isolate' && outcome.approval && { approval: outcome.approval }),
    });

    if (!alert.firing) {
      note('not-firing', true, () => 'alert is resolved/closed');
      return decision(
        {
          action: 'skip',
          isolationType: 'Full',
          rule: 'not-firing',
          why: 'alert is resolved/closed; nothing to isolate',
        },
        false,
      );
    }

    const protection = this.findProtection(device, machine, note);
    const candidates = this.candidates(alert, machine, note);
    const outcomes = candidates.map((c) => this.guard(c, alert, machine, protection, options, note));
    const [first] = outcomes;
    if (outcomes.length === 1) return decision(first, machine === null && first.action === 'isolate');
    return this.undecided(outcomes, decision);
  }

  /**
   * Intake, with several possible outcomes. When none isolates and all agree, the device lookup would
   * change nothing but attribution: decide now and save the machines API quota. Otherwise the
   * tentative action is an isolation if any outcome is one, so no caller drops it before the worker.
   */
  private undecided(
    outcomes: Outcome[],
    decision: (o: Outcome, needsDeviceCheck: boolean) => Decision,
  ): Decision {
    const certain = outcomes[outcomes.length - 1];
    const isolation = outcomes.find((o) => o.action === 'isolate');
    if (!isolation && outcomes.every((o) => o.action === certain.action)) {
      const others = [...new Set(outcomes.map((o) => o.rule))].filter((rule) => rule !== certain.rule);
      return decision(
        {
          ...certain,
          why: `${certain.why} (${others.join(', ')} would also ${certain.action} on a matching machine)`,
        },
        false,
      );
    }
    const tentative = isolation ?? outcomes[0];
    const possible = outcomes.map((o) => `${o.rule} → ${actionText(o)}`).join(', ');
    return decision(
      {
        ...tentative,
        why: `depends on the machine record (${possible}); tentatively ${actionText(tentative)}`,
      },
      true,
    );
  }

  /**
   * The first protection that matches. At intake an earlier protection may still match on the machine
   * record: when it would act differently (selective, not escalate), the protection is left to the
   * worker, so intake never settles on an escalation the worker would not make.
   */
  private findProtection(device: DeviceRef, machine: Machine | null, note: Note): Matched | null {
    const pending: CompiledProtection[] = [];
    for (const protection of this.protections) {
      const evaluation = protection.evaluate(device, machine);
      const { name } = protection.spec;
      if (evaluation.verdict === 'match') {
        const action = protectionAction(protection);
        const earlier = pending.find((p) => protectionAction(p) !== action);
        if (earlier) {
          const why = `${evaluation.why()}, but ${earlier.spec.name} comes first and may match on the machine record`;
          note(name, false, () => why);
          return null;
        }
      }
      note(name, evaluation.verdict === 'match', evaluation.why);
      if (evaluation.verdict === 'match') return { protection, evaluation };
      if (evaluation.verdict === 'unknown') pending.push(protection);
    }
    return null;
  }

  /**
   * What the rules could decide. With the machine record this is exactly one outcome. At intake,
   * rules whose device conditions are unknown are possible outcomes, up to the first certain one.
   */
  private candidates(alert: NormalizedAlert, machine: Machine | null, note: Note): Outcome[] {
    if (isIsolationOrder(alert)) {
      const by = alert.manual?.requestedBy ?? 'a person';
      note('manual', true, () => `manual request by ${by}`);
      return [
        {
          action: 'isolate',
          isolationType: alert.manual?.isolationType ?? 'Full',
          rule: 'manual',
          why: `manual request by ${by}`,
        },
      ];
    }
    const outcomes: Outcome[] = [];
    for (const rule of this.rules) {
      const evaluation = rule.evaluate(alert, machine);
      note(rule.spec.name, evaluation.verdict === 'match', evaluation.why);
      if (evaluation.verdict === 'miss') continue;
      const isolationType = rule.spec.isolationType ?? 'Full';
      const outcome = { action: rule.spec.action, isolationType, rule: rule.spec.name };
      outcomes.push({
        ...outcome,
        ...(rule.spec.approval && { approval: termsOf(rule.spec.approval, rule.spec.name) }),
        why: `${rule.spec.description ?? evaluation.why()}; rule ${rule.spec.name}: ${actionText(outcome)}`,
      });
      if (evaluation.verdict === 'match') return outcomes;
    }
    note('default', true, () => `no rule matched: default action ${this.defaultAction}`);
    outcomes.push({
      action: this.defaultAction,
      isolationType: 'Full',
      rule: 'default',
      why: `no rule matched; default action ${this.defaultAction}`,
    });
    return outcomes;
  }

  /** Protections, platform support and the breaker, applied to an isolation a rule asked for. */
  private guard(
    outcome: Outcome,
    alert: NormalizedAlert,
    machine: Machine | null,
    matched: Matched | null,
    options: DecideOptions,
    note: Note,
  ): Outcome {
    if (outcome.action !== 'isolate') return outcome;
    const waived = this.waivedProtection(outcome, alert, matched, note);
    if (waived) return this.platformGuard(waived, machine, null, note);
    let result = outcome;
    const protection = matched && {
      name: matched.protection.spec.name,
      why: `protected by ${matched.protection.spec.name} (${matched.evaluation.why()})`,
    };
    const held = matched?.protection.spec.approval;
    if (matched && protection && held) {
      const approval = strictest(outcome.approval, termsOf(held, protection.name));
      result = {
        ...result,
        approval,
        why: `${result.why}; ${protection.why}: held until ${approval.approvers === 2 ? 'two people approve' : 'a person approves'}`,
      };
    } else if (matched && protection) {
      // A containment has no Selective form: a Selective-only protection stops it like an escalating one.
      if (protectionAction(matched.protection) === 'escalate' || outcome.isolationType === 'UnManagedDevice')
        return {
          action: 'escalate',
          isolationType: outcome.isolationType,
          rule: protection.name,
          why: `${protection.why}; rule ${outcome.rule} would isolate it, a person must decide`,
        };
      result = {
        ...result,
        isolationType: 'Selective',
        why: `${result.why}; Selective only: ${protection.why}`,
      };
    }
    result = this.platformGuard(result, machine, protection, note);
    if (result.action !== 'isolate') return result;
    const breaker = options.breaker;
    if (breaker?.open && !isManualAlert(alert)) {
      const why = `${breaker.reason ?? 'blast-radius breaker open'}; rule ${outcome.rule} would isolate it, a person must decide`;
      note('blast-radius', true, () => why);
      return { ...result, action: 'escalate', rule: 'blast-radius', why };
    }
    return result;
  }

  /**
   * A person's override (manual API, `override` with a reason): the matched protection is not applied,
   * and the decision says which one was waived, by whom and why (rule `manual-override`, which the MDE
   * comment, the register and the outcome record carry). Null when there is nothing to waive.
   */
  private waivedProtection(
    outcome: Outcome,
    alert: NormalizedAlert,
    matched: Matched | null,
    note: Note,
  ): Outcome | null {
    const reason = isManualAlert(alert) ? alert.manual?.overrideReason : undefined;
    if (!matched || reason === undefined) return null;
    const by = alert.manual?.requestedBy ?? 'a person';
    const why = `${outcome.why}; protections overridden by ${by} (${oneLine(reason, QUOTE_MAX_LENGTH * 4)}): protected by ${matched.protection.spec.name} (${matched.evaluation.why()})`;
    note('override', true, () => why);
    return { ...outcome, rule: 'manual-override', why };
  }

  /** MDE's platform support on the machine record (intake has none yet: unchanged). */
  private platformGuard(
    outcome: Outcome,
    machine: Machine | null,
    protection: { name: string; why: string } | null,
    note: Note,
  ): Outcome {
    if (!machine) return outcome;
    const platform = this.platformCheck(outcome, machine, protection);
    if (platform !== outcome) note('platform', true, () => platform.why);
    return platform;
  }

  private platformCheck(
    outcome: Outcome,
    machine: Machine,
    protection: { name: string; why: string } | null,
  ): Outcome {
    const unsupported = isolationUnsupported(machine, outcome.isolationType);
    if (!unsupported) return outcome;
    if (outcome.isolationType === 'Selective' && !isolationUnsupported(machine, 'Full')) {
      // A protection asked for Selective precisely to avoid a Full isolation: never upgrade it.
      if (protection)
        return {
          ...outcome,
          action: 'escalate',
          rule: protection.name,
          why: `${outcome.why}; but ${unsupported}, a person must decide`,
        };
      return {
        ...outcome,
        isolationType: 'Full',
        why: `${outcome.why}; ${unsupported}, so Full isolation instead`,
      };
    }
    return {
      action: 'skip',
      isolationType: outcome.isolationType,
      rule: 'platform',
      why: `rule ${outcome.rule} would isolate it, but MDE cannot: ${unsupported}`,
    };
  }
}

/** A ready policy from a validated document; the mode is the document's unless overridden. */
export function createPolicy(
  document: PolicyDocument,
  modeOverride: PolicyMode | null = null,
  manualMode: ManualMode = 'follow',
): IsolationPolicy {
  return new Policy(document, effectiveMode(document, modeOverride), manualMode);
}
