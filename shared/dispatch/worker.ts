/**
 * The worker's isolate/release step, in the order the issue fixes: resolve the device, decide again
 * with the machine record, check what MDE already has under way, pass the throttle and the
 * blast-radius breaker, post, and hand the action to tracking. All MDE calls a request may make are
 * reserved before it starts, so it either runs through or is rescheduled whole.
 */
import type { Clock } from '../clock';
import type { MdeApi } from '../mde/api';
import { ActionAlreadyInProgressError } from '../mde/errors';
import { isTerminal, type Machine, type MachineAction } from '../mde/types';
import { renderComment } from '../policy/comment';
import type { Decision, IsolationPolicy } from '../policy/types';
import { type IsolationVerb, judgePriorActions, type PostedActions } from './idempotency';
import type { RequestLifecycle } from './lifecycle';
import { OUTCOME_OF_STATUS } from './outcome';
import { messageFor, type RequestQueue } from './queue';
import type { CallBudget } from './quota/api-budget';
import { withReservation } from './quota/current-reservation';
import { Reservation } from './quota/reservation';
import type { MdeThrottle } from './quota/throttle';
import { type IsolationRequest, isManualRequest, type TrackedAction, trackingRequestFor } from './request';
import type { DeviceResolver } from './resolve';
import type { DispatchTiming } from './timing';
import { terminalReason } from './tracker';

export interface WorkerDeps {
  api: MdeApi;
  policy: IsolationPolicy;
  queue: RequestQueue;
  throttle: MdeThrottle;
  resolver: DeviceResolver;
  posted: PostedActions;
  lifecycle: RequestLifecycle;
  timing: DispatchTiming;
  clock: Clock;
}

const ACTION_TYPES = ['Isolate', 'Unisolate'] as const;
/** Enough history to see the open action and the last finished one. */
const HISTORY_TOP = 20;

const RELEASE_COMMENT =
  'mde-isolator ({mode}): release requested by {requestedBy}: {reason}; {source} alert {alertId}, incident {incidentId}. Policy {policyVersion}.';

export class IsolationWorker {
  private readonly machineLocks = new Map<string, Promise<void>>();

  constructor(private readonly deps: WorkerDeps) {}

  async act(request: IsolationRequest): Promise<void> {
    const { throttle, lifecycle } = this.deps;
    const verb = request.action as IsolationVerb;
    const reservation = throttle.reserve(this.callsFor(request, verb), request.priority, request.requestId);
    if (!(reservation instanceof Reservation))
      return lifecycle.defer(
        request,
        reservation.retryAt,
        'not enough MDE budget for the calls this request needs',
      );
    try {
      // Every MDE call made inside spends this reservation (quota/current-reservation.ts): the
      // resolver's lookups, the check for actions under way and the POST.
      await withReservation(reservation, () => this.resolveAndAct(request, verb));
    } catch (error) {
      await lifecycle.failed(request, error);
    } finally {
      reservation.close();
    }
  }

  /** Every MDE call this request may make, so it is budgeted before the first one. */
  private callsFor(request: IsolationRequest, verb: IsolationVerb): CallBudget {
    const { policy, resolver, posted, clock } = this.deps;
    const machine = resolver.peek(request.device);
    // Another request of this process already follows an action on the device: no call needed.
    if (machine && posted.find(verb, machine.id, clock.now())) return {};
    const needs: CallBudget = { machines: resolver.callsNeeded(request.device) };
    // In dry-run nothing is posted, so only the lookup is budgeted.
    if (request.mode === 'enforce' && policy.mode === 'enforce') {
      needs.machineactions = 1;
      needs[verb === 'isolate' ? 'isolate' : 'unisolate'] = 1;
    }
    return needs;
  }

  private async resolveAndAct(request: IsolationRequest, verb: IsolationVerb): Promise<void> {
    const resolution = await this.deps.resolver.resolve(request.device);
    if (resolution.kind === 'not-found')
      return this.deps.lifecycle.finish(request, {
        outcome: 'escalated',
        reason: `no MDE machine matches this device exactly (tried ${resolution.tried.join(', ')}); it may not be onboarded: contain it by other means`,
      });
    if (resolution.kind === 'ambiguous') {
      const ids = resolution.candidates.map((m) => `${m.id} (last seen ${m.lastSeen})`).join(', ');
      return this.deps.lifecycle.finish(request, {
        outcome: 'escalated',
        rule: 'ambiguous-device',
        reason: `${resolution.via} matches ${resolution.candidates.length} MDE machines seen recently: ${ids}; refusing to guess which one to isolate`,
      });
    }
    const { machine } = resolution;
    // One request per machine at a time: two alerts naming the same device by different names must
    // not both see "nothing under way" and both post.
    await this.withMachineLock(machine.id, () => this.decideAndPost(request, verb, machine));
  }

  private async decideAndPost(
    request: IsolationRequest,
    verb: IsolationVerb,
    machine: Machine,
  ): Promise<void> {
    const { policy, lifecycle, api, posted } = this.deps;
    const where = { machineId: machine.id, computerDnsName: machine.computerDnsName };
    let decision: Decision | null = null;
    if (verb === 'isolate') {
      decision = policy.decideDevice(request.alert, request.device, machine, {
        now: new Date(this.deps.clock.now()),
      });
      if (decision.action !== 'isolate')
        return lifecycle.finish(request, {
          ...where,
          outcome: decision.action === 'skip' ? 'skipped' : 'escalated',
          rule: decision.rule,
          reason: decision.reason,
        });
    }
    // Both modes must say enforce: the one the request was decided in (a request queued in dry-run
    // stays a dry run even if enforce was switched on while it waited) and the policy's mode now.
    const dryRunBy =
      request.mode === 'dry-run'
        ? 'queued in dry-run mode'
        : (decision?.mode ?? policy.mode) === 'dry-run'
          ? 'policy in dry-run mode'
          : null;
    if (dryRunBy)
      return lifecycle.finish(request, {
        ...where,
        outcome: 'dry-run',
        rule: decision?.rule,
        reason: `dry-run: would ${verb} ${machine.computerDnsName ?? machine.id}${decision ? ` (${decision.isolationType}): ${decision.reason}` : ''} [${dryRunBy}; nothing posted]`,
      });

    const now = this.deps.clock.now();
    const opposite = posted.find(verb === 'isolate' ? 'release' : 'isolate', machine.id, now);
    if (opposite)
      // This process posted (or adopted) the opposite action and has not seen it end. MDE's list may
      // not show it yet, so this check cannot be left to the history below.
      return this.refuseConflict(
        request,
        machine,
        opposite.actionId,
        `${verb === 'isolate' ? 'a release' : 'an isolation'} (action ${opposite.actionId}, followed by request ${opposite.requestId}) is still under way on this device; posting the ${verb} now could race it`,
      );
    const followed = posted.find(verb, machine.id, now);
    if (followed) {
      // Redelivered after the POST (MDE's list may not show the action yet): make sure tracking was
      // queued; its fixed message id makes this a no-op when it was.
      if (followed.requestId === request.requestId)
        return this.track(
          request,
          verb,
          machine,
          followed.actionId,
          new Date(followed.at).toISOString(),
          false,
        );
      return lifecycle.finish(request, {
        ...where,
        outcome: 'skipped',
        actionId: followed.actionId,
        reason: `already handled: action ${followed.actionId} for this device is being followed by request ${followed.requestId}`,
      });
    }

    // MDE has no idempotency key: its own list of actions is the only proof that nothing is under way.
    // This also covers a POST that timed out but was executed, and a restart that lost `posted`.
    const prior = judgePriorActions(verb, await this.history(machine.id));
    if (prior.kind === 'adopt') return this.adopt(request, verb, machine, prior.action);
    // Done since this alert came in: most likely our own earlier attempt whose answer was lost. Either
    // way it answered this request, so its outcome is this request's outcome.
    if (
      prior.kind === 'skip' &&
      prior.action &&
      Date.parse(prior.action.creationDateTimeUtc) >= Date.parse(request.receivedAt)
    )
      return this.adopt(request, verb, machine, prior.action);
    if (prior.kind === 'skip')
      return lifecycle.finish(request, {
        ...where,
        outcome: 'skipped',
        actionId: prior.action?.id,
        reason: prior.reason,
      });
    if (prior.kind === 'conflict')
      return this.refuseConflict(request, machine, prior.action.id, prior.reason);

    if (verb === 'isolate') {
      const admission = policy.breaker.admit(new Date(now), { manual: isManualRequest(request) });
      if (!admission.allowed)
        return lifecycle.finish(request, {
          ...where,
          outcome: 'escalated',
          rule: 'blast-radius',
          reason: admission.reason,
        });
    }

    let action: MachineAction;
    try {
      action =
        verb === 'isolate' && decision
          ? await api.isolate(
              machine.id,
              policy.comment(request.alert, decision, request.requestedBy.name),
              decision.isolationType,
            )
          : await api.release(machine.id, releaseComment(request, policy));
    } catch (error) {
      // 400 ActiveRequestAlreadyExists: someone else's action is under way; adopt it, don't fail.
      if (!(error instanceof ActionAlreadyInProgressError)) throw error;
      const open = judgePriorActions(verb, await this.history(machine.id));
      if (open.kind === 'adopt') return this.adopt(request, verb, machine, open.action);
      // The action in progress is the opposite one: the same refusal as before posting.
      if (open.kind === 'conflict') return this.refuseConflict(request, machine, open.action.id, open.reason);
      // MDE's list does not show the action yet: retried with backoff (planAfterFailure), by which
      // time it should.
      throw error;
    }
    const postedAt = this.deps.clock.now();
    posted.record(verb, machine.id, { actionId: action.id, at: postedAt, requestId: request.requestId });
    return this.track(request, verb, machine, action.id, new Date(postedAt).toISOString(), false);
  }

  /**
   * The opposite action is under way: MDE completes actions out of submission order (mde-api.md §10),
   * so posting now could leave the device in the state nobody wanted last. A person has to choose.
   */
  private refuseConflict(
    request: IsolationRequest,
    machine: Machine,
    actionId: string,
    reason: string,
  ): void {
    this.deps.lifecycle.finish(request, {
      machineId: machine.id,
      computerDnsName: machine.computerDnsName,
      outcome: 'escalated',
      rule: 'action-conflict',
      actionId,
      reason,
    });
  }

  /** The machine's recent isolate and release actions, newest first. */
  private history(machineId: string): Promise<MachineAction[]> {
    return this.deps.api.listMachineActions({ machineId, type: [...ACTION_TYPES], top: HISTORY_TOP });
  }

  private adopt(request: IsolationRequest, verb: IsolationVerb, machine: Machine, action: MachineAction) {
    if (isTerminal(action.status)) {
      // Already over: its status is this request's outcome, no polling needed.
      const tracking = trackingRequestFor(
        request,
        this.trackedAction(verb, machine, action.id, action.creationDateTimeUtc, true),
      );
      return this.deps.lifecycle.finish(tracking, {
        outcome: OUTCOME_OF_STATUS[action.status] ?? 'failed',
        actionStatus: action.status,
        reason: terminalReason(tracking.tracking as TrackedAction, action),
      });
    }
    const at = this.deps.clock.now();
    this.deps.posted.record(verb, machine.id, { actionId: action.id, at, requestId: request.requestId });
    return this.track(request, verb, machine, action.id, action.creationDateTimeUtc, true);
  }

  private trackedAction(
    verb: IsolationVerb,
    machine: Machine,
    actionId: string,
    postedAt: string,
    adopted: boolean,
  ): TrackedAction {
    return {
      actionId,
      action: verb,
      machineId: machine.id,
      computerDnsName: machine.computerDnsName,
      postedAt,
      adopted,
      polls: 0,
    };
  }

  /** The request's outcome now depends on MDE's action: tracking reports it when it ends. */
  private async track(
    request: IsolationRequest,
    verb: IsolationVerb,
    machine: Machine,
    actionId: string,
    postedAt: string,
    adopted: boolean,
  ): Promise<void> {
    const tracking = trackingRequestFor(
      request,
      this.trackedAction(verb, machine, actionId, postedAt, adopted),
    );
    const firstPoll = this.deps.clock.now() + this.deps.timing.trackFirstPollMs;
    await this.deps.queue.schedule(messageFor(tracking), new Date(firstPoll));
  }

  private async withMachineLock(machineId: string, work: () => Promise<void>): Promise<void> {
    const previous = this.machineLocks.get(machineId) ?? Promise.resolve();
    const current = previous.then(work, work);
    const settled = current.catch(() => undefined);
    this.machineLocks.set(machineId, settled);
    try {
      await current;
    } finally {
      if (this.machineLocks.get(machineId) === settled) this.machineLocks.delete(machineId);
    }
  }
}

function releaseComment(request: IsolationRequest, policy: IsolationPolicy): string {
  const { alert } = request;
  return renderComment(RELEASE_COMMENT, {
    rule: request.rule,
    action: 'release',
    isolationType: '',
    reason: alert.manual?.comment ?? alert.title,
    alertId: alert.alertId,
    incidentId: alert.incidentId ?? '-',
    source: alert.source,
    severity: alert.severity,
    title: alert.title,
    requestedBy: request.requestedBy.name,
    policyVersion: policy.version,
    mode: policy.mode,
  });
}
