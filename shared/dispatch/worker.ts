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
import { type ActionRequest, isManualRequest, type TrackedAction, trackingRequestFor } from './request';
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
const MDE_TYPE = { isolate: 'Isolate', release: 'Unisolate' } as const;
/**
 * How far back the worker reads a machine's actions: far beyond MDE's 3-day retry (no action older
 * is still open) and long enough to see the last isolate or release of a device in normal use.
 */
const HISTORY_LOOKBACK_DAYS = 30;
/** A page this full may hide the newest action; the worker refuses to decide from it. */
const HISTORY_MAX = 1_000;

/** Candidates named in an escalation; a lookup returns up to 100. */
const MAX_LISTED_MACHINES = 10;

const RELEASE_COMMENT =
  'mde-isolator ({mode}): release requested by {requestedBy}: {reason}; {source} alert {alertId}, incident {incidentId}. Policy {policyVersion}.';

export class IsolationWorker {
  private readonly machineLocks = new Map<string, Promise<void>>();

  constructor(private readonly deps: WorkerDeps) {}

  async act(request: ActionRequest): Promise<void> {
    const { throttle, lifecycle } = this.deps;
    const verb = request.action;
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
  private callsFor(request: ActionRequest, verb: IsolationVerb): CallBudget {
    const { policy, resolver, posted, clock } = this.deps;
    const machine = resolver.peek(request.device);
    // Redelivered after this request's own POST: only its tracking is queued again, no call needed.
    if (machine && posted.find(verb, machine.id, clock.now())?.requestId === request.requestId) return {};
    const needs: CallBudget = { machines: resolver.callsNeeded(request.device) };
    // In dry-run nothing is posted, so only the lookup is budgeted.
    if (request.mode === 'enforce' && policy.mode === 'enforce') {
      needs.machineactions = 1;
      needs[verb === 'isolate' ? 'isolate' : 'unisolate'] = 1;
    }
    return needs;
  }

  private async resolveAndAct(request: ActionRequest, verb: IsolationVerb): Promise<void> {
    const resolution = await this.deps.resolver.resolve(request.device);
    if (resolution.kind === 'not-found') {
      const namesakes = resolution.namesakes.length
        ? `; MDE machines with the same short name elsewhere, not taken for it: ${describeMachines(resolution.namesakes)}`
        : '';
      return this.deps.lifecycle.finish(request, {
        outcome: 'escalated',
        reason: `no MDE machine matches this device exactly (tried ${resolution.tried.join(', ')})${namesakes}; it may not be onboarded: contain it by other means`,
      });
    }
    if (resolution.kind === 'ambiguous')
      return this.deps.lifecycle.finish(request, {
        outcome: 'escalated',
        rule: 'ambiguous-device',
        reason: `${resolution.via} matches ${resolution.candidates.length} MDE machines seen recently: ${describeMachines(resolution.candidates)}; refusing to guess which one to isolate`,
      });
    const { machine } = resolution;
    // One request per machine at a time: two alerts naming the same device by different names must
    // not both see "nothing under way" and both post.
    await this.withMachineLock(machine.id, () => this.decideAndPost(request, verb, machine));
  }

  private async decideAndPost(request: ActionRequest, verb: IsolationVerb, machine: Machine): Promise<void> {
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

    const own = posted.find(verb, machine.id, this.deps.clock.now());
    if (own?.requestId === request.requestId)
      // Redelivered after the POST (MDE's list may not show the action yet): make sure tracking was
      // queued; its fixed message id makes this a no-op when it was.
      return this.track(request, verb, machine, own.actionId, new Date(own.at).toISOString(), false);

    // MDE has no idempotency key: its own list of actions is the only proof that nothing is under way.
    // This also covers a POST that timed out but was executed, and a restart that lost `posted`.
    const history = await this.history(machine.id);
    if (history === null)
      return this.refuseConflict(
        request,
        machine,
        undefined,
        `MDE lists ${HISTORY_MAX} or more isolate/release actions for this device in the last ${HISTORY_LOOKBACK_DAYS} days; refusing to decide without seeing them all`,
      );
    // A record of this process whose action MDE lists as ended is a leftover (its tracking was lost):
    // it proves nothing any more and must not hold this device's requests.
    for (const action of history) if (isTerminal(action.status)) posted.clear(machine.id, action.id);
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
    if (followed)
      return lifecycle.finish(request, {
        ...where,
        outcome: 'skipped',
        actionId: followed.actionId,
        reason: `already handled: action ${followed.actionId} for this device is being followed by request ${followed.requestId}`,
      });

    const ownComment =
      verb === 'isolate' && decision
        ? policy.comment(request.alert, decision, request.requestedBy.name)
        : releaseComment(request, policy);
    const prior = judgePriorActions(verb, history);
    if (prior.kind === 'adopt') return this.adopt(request, verb, machine, prior.action, ownComment);
    if (prior.kind === 'conflict')
      return this.refuseConflict(request, machine, prior.action.id, prior.reason);
    // Anything done to the device since this request came in answered it (most likely our own earlier
    // attempt whose answer or completion was lost) or overrode it (a person released the device):
    // either way posting again would undo what happened since.
    const since = actionsSince(history, request.receivedAt);
    const answered = since.find((a) => a.type === MDE_TYPE[verb]);
    if (answered) return this.adopt(request, verb, machine, answered, ownComment, since[0]);
    if (since.length > 0)
      return this.refuseConflict(
        request,
        machine,
        since[0].id,
        `${since[0].type === 'Isolate' ? 'an isolation' : 'a release'} (action ${since[0].id} by ${since[0].requestor}, ${since[0].creationDateTimeUtc}) was requested after this request came in; not posting the ${verb} over it`,
      );
    if (prior.kind === 'skip')
      return lifecycle.finish(request, {
        ...where,
        outcome: 'skipped',
        actionId: prior.action.id,
        reason: prior.reason,
      });

    let reservation: string | undefined;
    if (verb === 'isolate') {
      const admission = policy.breaker.reserve(new Date(now), { manual: isManualRequest(request) });
      if (!admission.allowed && admission.wait)
        return lifecycle.defer(request, now + this.deps.timing.transientBaseMs, admission.reason);
      if (!admission.allowed)
        return lifecycle.finish(request, {
          ...where,
          outcome: 'escalated',
          rule: 'blast-radius',
          reason: admission.reason,
        });
      reservation = admission.reservation;
    }
    let action: MachineAction;
    try {
      action =
        verb === 'isolate' && decision
          ? await api.isolate(machine.id, ownComment, decision.isolationType)
          : await api.release(machine.id, ownComment);
    } catch (error) {
      // MDE did not accept this POST: the slot goes back. An isolation it executed anyway is counted
      // when a retry adopts it (`adopt` recognises our own comment).
      if (reservation !== undefined) policy.breaker.release(reservation);
      // 400 ActiveRequestAlreadyExists: someone else's action is under way; adopt it, don't fail.
      if (!(error instanceof ActionAlreadyInProgressError)) throw error;
      const current = await this.history(machine.id);
      const open = judgePriorActions(verb, current ?? []);
      if (open.kind === 'adopt') return this.adopt(request, verb, machine, open.action, ownComment);
      // The action in progress is the opposite one: the same refusal as before posting.
      if (open.kind === 'conflict') return this.refuseConflict(request, machine, open.action.id, open.reason);
      // MDE's list does not show the action yet: retried with backoff (planAfterFailure), by which
      // time it should.
      throw error;
    }
    const postedAt = this.deps.clock.now();
    if (verb === 'isolate') policy.breaker.commit(action.id, new Date(postedAt), reservation);
    posted.record(verb, machine.id, { actionId: action.id, at: postedAt, requestId: request.requestId });
    return this.track(request, verb, machine, action.id, new Date(postedAt).toISOString(), false);
  }

  /**
   * The opposite action is under way: MDE completes actions out of submission order (docs/mde-api.md §10),
   * so posting now could leave the device in the state nobody wanted last. A person has to choose.
   */
  private refuseConflict(
    request: ActionRequest,
    machine: Machine,
    actionId: string | undefined,
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

  /**
   * The machine's isolate and release actions of the lookback period, all of them: MDE promises no
   * order, so "the first page" is not "the newest". Null when there are too many to see them all.
   */
  private async history(machineId: string): Promise<MachineAction[] | null> {
    const createdSince = new Date(this.deps.clock.now() - HISTORY_LOOKBACK_DAYS * 86_400_000);
    const actions = await this.deps.api.listMachineActions({
      machineId,
      type: [...ACTION_TYPES],
      createdSince,
      top: HISTORY_MAX,
    });
    return actions.length >= HISTORY_MAX ? null : actions;
  }

  /**
   * This request's outcome is `action`'s. An isolation this app posted with this request's comment
   * (an earlier attempt whose answer was lost) is counted by the breaker; counting is per action,
   * so adopting it again counts nothing.
   */
  private adopt(
    request: ActionRequest,
    verb: IsolationVerb,
    machine: Machine,
    action: MachineAction,
    ownComment: string,
    latest?: MachineAction,
  ) {
    const now = this.deps.clock.now();
    if (verb === 'isolate' && action.requestorComment?.trim() === ownComment.trim())
      this.deps.policy.breaker.commit(action.id, new Date(now));
    if (isTerminal(action.status)) {
      // Already over: its status is this request's outcome, no polling needed.
      const tracking = trackingRequestFor(
        request,
        this.trackedAction(verb, machine, action.id, action.creationDateTimeUtc, true),
      );
      const since =
        latest && latest.id !== action.id
          ? `; since then: ${latest.type} action ${latest.id} (${latest.status})`
          : '';
      return this.deps.lifecycle.finish(tracking, {
        outcome: OUTCOME_OF_STATUS[action.status] ?? 'failed',
        actionStatus: action.status,
        reason: `${terminalReason(tracking.tracking, action)}${since}`,
      });
    }
    this.deps.posted.record(verb, machine.id, { actionId: action.id, at: now, requestId: request.requestId });
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
    request: ActionRequest,
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

/** Isolate/release actions created at or after `receivedAt`, newest first. */
function actionsSince(history: MachineAction[], receivedAt: string): MachineAction[] {
  const from = Date.parse(receivedAt);
  return history
    .filter((a) => Date.parse(a.creationDateTimeUtc) >= from)
    .sort((a, b) => Date.parse(b.creationDateTimeUtc) - Date.parse(a.creationDateTimeUtc));
}

function describeMachines(machines: Machine[]): string {
  return machines
    .slice(0, MAX_LISTED_MACHINES)
    .map((m) => `${m.id} (${m.computerDnsName ?? 'no name'}, last seen ${m.lastSeen})`)
    .join(', ')
    .concat(
      machines.length > MAX_LISTED_MACHINES ? `, and ${machines.length - MAX_LISTED_MACHINES} more` : '',
    );
}

function releaseComment(request: ActionRequest, policy: IsolationPolicy): string {
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
