/**
 * The worker's isolate/release step, in the order the issue fixes: resolve the device, decide again
 * with the machine record, check what MDE and the action ledger already have under way, pass the
 * throttle and the shared blast-radius breaker, post, record, and hand the action to tracking. All
 * MDE calls a request may make are reserved before it starts, so it either runs through or is
 * rescheduled whole. When the state store cannot be reached, nothing is posted: the request waits
 * (lifecycle.ts).
 */
import { saysAttackDisruption } from '../../alerts/disruption';
import type { Clock } from '../../kernel/clock';
import type { MdeApi } from '../../mde/api';
import type { AppIdentity } from '../../mde/app-identity';
import { ActionAlreadyInProgressError, RestrictedDeviceError } from '../../mde/errors';
import { callOf } from '../../mde/requests';
import { isTerminal, type Machine, type MachineAction } from '../../mde/types';
import type { BreakerState, Decision, IsolationPolicy } from '../../policy/types';
import type { LedgerRecord, StateStore } from '../../state/store';
import type { ClaimKeeper } from '../claim-keeper';
import { OUTCOME_OF_STATUS } from '../outcome';
import type { CallBudget } from '../quota/api-budget';
import { currentReservation, withReservation } from '../quota/current-reservation';
import { Reservation } from '../quota/reservation';
import type { MdeThrottle } from '../quota/throttle';
import { type ActionRequest, isManualRequest, type TrackedAction, trackingRequestFor } from '../request';
import type { DispatchTiming } from '../timing';
import { messageFor, type RequestQueue } from '../transport/queue';
import { TOO_MANY_ACTIONS } from './action-history';
import { breakerLimits } from './blast-radius';
import { claimStep, describeAsk, keyOf } from './coalesce';
import { dryRunVerdict } from './dry-run';
import type { AsOf } from './expiry';
import {
  actionsSince,
  judgePriorActions,
  judgeRequest,
  mdeTimeBefore,
  type PostedByThisApp,
} from './idempotency';
import { scheduleIsolationEnd } from './isolation-end';
import { RESTRICTED_DEVICE_RULE, type RequestLifecycle } from './lifecycle';
import { postedByThisApp } from './ownership';
import { type ReleaseProvenance, releaseProvenance, releaseRefusal } from './provenance';
import type { RecentActions } from './recent-actions';
import { ACTION_TYPE, endState, recordEnded, recordFollowed } from './register';
import { renewalComment, renewalRefusal } from './renewal';
import type { DeviceResolver } from './resolve';
import { trackedFromLedger } from './resume';
import { TIME_BOX_RULE, timeBoxOutlived, timeBoxWaitsUntil } from './time-box';
import { terminalReason } from './tracker';

export interface WorkerDeps {
  /**
   * The breaker as the device decision sees it: a recent view when closed (the reserve before the
   * POST is the gate), read afresh when open, so a reset is never missed (dispatcher.ts).
   */
  breakerState(): Promise<BreakerState>;
  api: MdeApi;
  policy: IsolationPolicy;
  queue: RequestQueue;
  throttle: MdeThrottle;
  resolver: DeviceResolver;
  store: StateStore;
  lifecycle: RequestLifecycle;
  timing: DispatchTiming;
  clock: Clock;
  /** The pre-POST history check, read for many machines at once. */
  recent: RecentActions;
  /** Who this app is to MDE: whose isolation a release would end (provenance.ts). */
  identity: Pick<AppIdentity, 'clientId'>;
  /** This process's holder lease, which the device key's and the machine's claims live by. */
  claims: ClaimKeeper;
  /** How long MDE lets an isolation last (expiry.ts): past it, an isolation is not in force. */
  platformLiftMs: number;
}

/** Candidates named in an escalation; a lookup returns up to 100. */
const MAX_LISTED_MACHINES = 10;

/** One request on its resolved machine, as the steps below pass it on. */
interface Target {
  request: ActionRequest;
  verb: 'isolate' | 'release';
  machine: Machine;
}

/** What the worker posts: the device-level decision (none for a release), its comment and reason. */
interface Plan {
  decision: Decision | null;
  comment: string;
  reason: string;
}

export class IsolationWorker {
  private readonly machineLocks = new Map<string, Promise<void>>();

  constructor(private readonly deps: WorkerDeps) {}

  async act(queued: ActionRequest): Promise<void> {
    const { throttle, lifecycle } = this.deps;
    let claimed: ActionRequest | null;
    try {
      // Redelivered or retried after this request's own POST or adoption, in this process or an
      // earlier one, while the action is followed: its tracking is queued again, never a second
      // action. Once it ended, a redelivery is judged against MDE's list like any request.
      const own = queued.unreserved ? null : await this.deps.store.actions.forRequest(queued.requestId);
      if (own?.open) return await this.track(queued, trackedFromLedger(own));
      if (await this.timeBoxNotDue(queued)) return;
      claimed = await this.claim(queued);
    } catch (error) {
      await lifecycle.failed(queued, error);
      return;
    }
    if (claimed === null) return;
    const { unreserved: _, ...request } = claimed;
    const reservation = throttle.reserve(this.callsFor(request), request.priority, request.requestId);
    if (!(reservation instanceof Reservation))
      return lifecycle.defer(
        { ...request, unreserved: true },
        reservation.retryAt,
        'not enough MDE budget for the calls this request needs',
      );
    try {
      // Every MDE call made inside spends this reservation (quota/current-reservation.ts): the
      // resolver's lookups, the check for actions under way and the POST.
      await withReservation(reservation, () => this.resolveAndAct(request));
    } catch (error) {
      await lifecycle.failed(request, error);
    } finally {
      reservation.close();
    }
  }

  /**
   * A time-box release whose isolation was extended waits for the new end (time-box.ts), before it
   * takes the device key: until then it holds nothing. True when it waits.
   */
  private async timeBoxNotDue(request: ActionRequest): Promise<boolean> {
    if (!request.timeBox) return false;
    const { store, clock, lifecycle } = this.deps;
    const machineId = request.device.mdeDeviceId;
    const record = machineId ? await store.register.get(machineId) : null;
    const until = timeBoxWaitsUntil(record, request.timeBox, clock.now());
    if (until === null) return false;
    await lifecycle.defer(request, until, `the time box was extended to ${new Date(until).toISOString()}`);
    return true;
  }

  /**
   * The request's device key, before resolution (coalesce.ts): the request goes on holding it, with
   * the priority of the most urgent alert it absorbed, or beside an opposite action under way; or it
   * ends absorbed by the request holding it, or waits behind that one (null).
   */
  private async claim(request: ActionRequest): Promise<ActionRequest | null> {
    const { store, clock, timing, lifecycle, claims } = this.deps;
    const holding = await claims.holding();
    const now = clock.now();
    const claim = await store.openRequests.update(keyOf(request), claimStep(request, now, holding));
    switch (claim.kind) {
      case 'own':
        return { ...request, priority: Math.min(request.priority, claim.entry.priority) };
      case 'absorbed':
        lifecycle.absorbed(request, claim.carrier);
        return null;
      case 'waits':
        // Asked again well before the one ahead could have ended, at the latest when its holder's
        // lease runs out unless renewed.
        await lifecycle.defer(
          request,
          Math.min(claim.behind.heldUntil, now + timing.trackMaxInProgressMs),
          `waiting behind request ${claim.behind.requestId} for this device, which asks for less (${describeAsk(claim.behind)}); decided when it ends`,
        );
        return null;
      case 'apart':
        return request;
      case 'free':
        throw new Error('a claim always opens a free device key');
    }
  }

  /** Every MDE call this request may make, so it is budgeted before the first one. */
  private callsFor(request: ActionRequest): CallBudget {
    const { policy, resolver } = this.deps;
    // The device's actions are read in both modes (a dry run says what enforce would do with them);
    // in dry-run nothing is posted.
    // A release also reads whose isolation it would end (provenance.ts).
    const needs: CallBudget = {
      machines: resolver.callsNeeded(request.device),
      machineactions: request.action === 'release' ? 2 : 1,
    };
    if (request.mode === 'enforce' && policy.modeFor(request.alert) === 'enforce')
      needs[request.action === 'isolate' ? 'isolate' : 'unisolate'] = 1;
    return needs;
  }

  private async resolveAndAct(request: ActionRequest): Promise<void> {
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
    const target: Target = { request, verb: request.action, machine: resolution.machine };
    // One request per machine at a time: two alerts naming the same device by different names must
    // not both see "nothing under way" and both post. The lock orders this process's requests; the
    // machine's claim in the store keeps other processes out.
    await this.withMachineLock(target.machine.id, () => this.decideAndPost(target));
  }

  /** Each step either ends the request (outcome, deferral) and answers null, or hands on. */
  private async decideAndPost(target: Target): Promise<void> {
    const plan = await this.decideOnMachine(target);
    if (!plan) return;
    const dryRunBy = this.dryRunCause(target, plan);
    if (dryRunBy) {
      const history = await this.actionsUnderWay(target);
      if (history) await this.endAsDryRun(target, plan, history, dryRunBy);
      return;
    }
    await this.withMachineClaim(target, (term) => this.checkAndPost(target, plan, term));
  }

  /** What MDE and the ledger have under way decides whether this request posts; then it posts. */
  private async checkAndPost(target: Target, plan: Plan, term: number): Promise<void> {
    const history = await this.actionsUnderWay(target);
    if (!history) return;
    const ledger = await this.deps.store.actions.forMachine(target.machine.id);
    if (await this.heldByLedger(target, history, ledger)) return;
    if (await this.answeredByHistory(target, plan, history, ledger)) return;
    const reservation = await this.admit(target);
    if (reservation === null) return;
    await this.post(target, withDisruptionClaim(target, plan), reservation, term);
  }

  /** Stage 2 of the policy on the machine record, with the shared breaker as it is now. */
  private async decideOnMachine(target: Target): Promise<Plan | null> {
    const { policy, lifecycle, store, clock } = this.deps;
    const { request, machine } = target;
    if (target.verb === 'release') {
      const { api, identity } = this.deps;
      const provenance = await releaseProvenance({ api, store, identity }, machine.id, this.asOf());
      const outlived = request.timeBox && timeBoxOutlived(request.timeBox, provenance);
      if (outlived) {
        await lifecycle.finish(request, {
          ...where(machine),
          outcome: 'skipped',
          rule: TIME_BOX_RULE,
          reason: outlived,
        });
        return null;
      }
      const refused = this.refusedRelease(request, provenance);
      if (refused) {
        await lifecycle.finish(request, { ...where(machine), outcome: 'escalated', ...refused });
        return null;
      }
      const { alert } = request;
      return {
        decision: null,
        comment: policy.releaseComment(alert, request.requestedBy.name, request.rule),
        reason: alert.manual?.comment ?? alert.title,
      };
    }
    const renewal = request.renewal && renewalRefusal(request, await store.register.get(machine.id));
    if (renewal) {
      await lifecycle.finish(request, { ...where(machine), ...renewal });
      return null;
    }
    const breaker = await this.deps.breakerState();
    const decision = policy.decideDevice(request.alert, request.device, machine, {
      now: new Date(clock.now()),
      breaker,
    });
    if (decision.action !== 'isolate') {
      await lifecycle.finish(request, {
        ...where(machine),
        outcome: decision.action === 'skip' ? 'skipped' : 'escalated',
        rule: decision.rule,
        reason: decision.reason,
      });
      return null;
    }
    const comment = policy.comment(request.alert, decision, request.requestedBy.name);
    return {
      decision,
      comment: request.renewal ? renewalComment(comment, request.renewal) : comment,
      reason: decision.reason,
    };
  }

  /**
   * Whose isolation the release would end (provenance.ts), asked again here whoever queued it (the
   * manual API and the CLI ask before queueing; a replayed dead-letter record, another process or an
   * older version may not). Null when the release may go on: the isolation in force is this app's, the
   * newest action is a release, or a person forced it.
   */
  private refusedRelease(
    request: ActionRequest,
    provenance: ReleaseProvenance,
  ): { rule: string; reason: string } | null {
    const forced = isManualRequest(request) && request.alert.manual?.forceReason !== undefined;
    const refusal = releaseRefusal(provenance, forced);
    return (
      refusal && {
        rule: refusal.code,
        reason: `${refusal.cause}; not releasing it unless a person forces it with a reason`,
      }
    );
  }

  /**
   * Why the request ends as a dry run, or null to enforce it. Both modes must say enforce: the one the
   * request was decided in (a request queued in dry-run stays a dry run even if enforce was switched
   * on while it waited) and the policy's mode now.
   */
  private dryRunCause({ request }: Target, { decision }: Plan): string | null {
    if (request.mode === 'dry-run') return 'queued in dry-run mode';
    return (decision?.mode ?? this.deps.policy.modeFor(request.alert)) === 'dry-run'
      ? 'policy in dry-run mode'
      : null;
  }

  /** A dry run reports what enforce would do with the device's actions in MDE, and changes nothing. */
  private async endAsDryRun(
    target: Target,
    { decision }: Plan,
    history: MachineAction[],
    dryRunBy: string,
  ): Promise<void> {
    const { request, verb, machine } = target;
    const name = machine.computerDnsName ?? machine.id;
    const ledger = await this.deps.store.actions.forMachine(machine.id);
    const since = this.since(target, history, ledger);
    const ours = await this.postedByThisApp(ledger);
    const { would, actionId } = dryRunVerdict(verb, name, decision, history, since, this.asOf(), ours);
    await this.deps.lifecycle.finish(request, {
      ...where(machine),
      outcome: 'dry-run',
      rule: decision?.rule,
      ...(actionId && { actionId }),
      reason: `dry-run: ${would} [${dryRunBy}; nothing posted]`,
    });
  }

  /**
   * MDE has no idempotency key: its own list of actions is the only proof that nothing is under way
   * (docs/mde-api.md §10). Null when the request ended because the list cannot be trusted whole.
   */
  private async actionsUnderWay(target: Target): Promise<MachineAction[] | null> {
    const history = await this.history(target.machine.id);
    if (history === null)
      await this.refuseConflict(
        target,
        undefined,
        `${TOO_MANY_ACTIONS}; refusing to decide without seeing them all`,
      );
    return history;
  }

  /**
   * Actions the ledger shows followed by another request, which MDE's list may not show yet. An entry
   * whose action MDE lists as ended is a leftover (its tracking was lost): it is closed here and holds
   * nothing. True when the request ended.
   */
  private async heldByLedger(
    target: Target,
    history: MachineAction[],
    ledger: LedgerRecord[],
  ): Promise<boolean> {
    const { store, lifecycle, clock, timing } = this.deps;
    const { request, verb, machine } = target;
    const followed: LedgerRecord[] = [];
    for (const entry of ledger) {
      if (!entry.open) continue;
      const listed = history.find((a) => a.id === entry.actionId);
      if (listed && isTerminal(listed.status)) {
        await store.actions.setStatus(machine.id, entry.actionId, listed.status);
        continue;
      }
      // Past MDE's retry period the action cannot still be running, whoever followed it.
      if (clock.now() - Date.parse(entry.recordedAt) < timing.trackGiveUpMs) followed.push(entry);
    }
    const opposite = followed.find((e) => e.type !== ACTION_TYPE[verb]);
    if (opposite) {
      await this.refuseConflict(
        target,
        opposite.actionId,
        `${verb === 'isolate' ? 'a release' : 'an isolation'} (action ${opposite.actionId}, followed by request ${opposite.requestId}) is still under way on this device; posting the ${verb} now could race it`,
      );
      return true;
    }
    const same = followed.find((e) => e.type === ACTION_TYPE[verb]);
    if (!same) return false;
    // Another name of the same machine (the requests had different device keys): this request is
    // the one under way's, whose outcome is this one's.
    await lifecycle.finish(request, {
      ...where(machine),
      outcome: 'coalesced',
      actionId: same.actionId,
      carriedBy: same.requestId,
      reason: `already handled: action ${same.actionId} for this device is being followed by request ${same.requestId}`,
    });
    return true;
  }

  /** What MDE's list says about this request: adopt, refuse, or skip it. True when the request ended. */
  private async answeredByHistory(
    target: Target,
    plan: Plan,
    history: MachineAction[],
    ledger: LedgerRecord[],
  ): Promise<boolean> {
    const judged = judgeRequest(
      target.verb,
      history,
      this.since(target, history, ledger),
      this.asOf(),
      await this.postedByThisApp(ledger),
    );
    switch (judged.kind) {
      case 'adopt':
        await this.adopt(target, plan, judged.action, judged.latest);
        return true;
      case 'conflict':
        await this.refuseConflict(target, judged.action.id, judged.reason);
        return true;
      case 'skip':
        await this.deps.lifecycle.finish(target.request, {
          ...where(target.machine),
          outcome: 'skipped',
          actionId: judged.action.id,
          reason: judged.reason,
        });
        return true;
      case 'post':
        return false;
    }
  }

  /** Now, for what is in force (expiry.ts). */
  private asOf(): AsOf {
    return { now: this.deps.clock.now(), platformLiftMs: this.deps.platformLiftMs };
  }

  /** Whose an action is, by the one ownership rule (ownership.ts), given the machine's ledger. */
  private async postedByThisApp(ledger: LedgerRecord[]): Promise<PostedByThisApp> {
    const clientId = await this.deps.identity.clientId();
    return (action) => postedByThisApp(action, ledger, clientId);
  }

  /** The machine's actions that may have been created since the request came in (idempotency.ts). */
  private since({ request }: Target, history: MachineAction[], ledger: LedgerRecord[]): MachineAction[] {
    return actionsSince(history, request.receivedAt, mdeTimeBefore(ledger, request.receivedAt));
  }

  /**
   * The shared breaker's admission for an isolate (a release needs none: undefined). Null when the
   * request ended (escalated: the breaker is open) or waits (isolations in flight fill the window).
   */
  private async admit({ request, verb, machine }: Target): Promise<string | undefined | null> {
    if (verb !== 'isolate') return undefined;
    const { store, policy, lifecycle } = this.deps;
    const admission = await store.breaker.reserve(
      { requestId: request.requestId, manual: isManualRequest(request) },
      breakerLimits(policy),
    );
    if (admission.allowed) return admission.reservationId;
    if (admission.open)
      await lifecycle.finish(request, {
        ...where(machine),
        outcome: 'escalated',
        rule: 'blast-radius',
        reason: admission.reason,
      });
    // The POSTs in flight are usually answered within one POST's time, long before their
    // reservations would expire (`retryAt`): ask again soon, which costs one store read.
    else
      await lifecycle.defer(
        request,
        Math.min(admission.retryAt, this.deps.clock.now() + this.deps.timing.transientBaseMs),
        admission.reason,
      );
    return null;
  }

  /** `term`: the term of this process's lease (claim-keeper.ts) in which it took the machine's claim. */
  private async post(
    target: Target,
    plan: Plan,
    reservation: string | undefined,
    term: number,
  ): Promise<void> {
    const { api, store, clock, claims } = this.deps;
    const { verb, machine } = target;
    let action: MachineAction;
    try {
      // The machine's claim lives by this process's lease: never post on one that may lapse meanwhile,
      // nor on one that lapsed since the claim was taken (a stall, renewals refused while the POST
      // waited for its slot), when another may hold the machine. Checked as the POST leaves.
      const reservation = currentReservation();
      if (!reservation) throw new Error(`the ${verb} POST is made outside its request's reservation`);
      reservation.beforeSending(callOf(verb).api, () => claims.holdingSince(term));
      action =
        verb === 'isolate' && plan.decision
          ? await api.isolate(machine.id, plan.comment, plan.decision.isolationType)
          : await api.release(machine.id, plan.comment);
    } catch (error) {
      // MDE did not accept this POST: the slot goes back. An isolation it executed anyway is counted
      // when a retry adopts it (`adopt` recognises our own comment).
      if (reservation !== undefined) await store.breaker.release(reservation);
      return this.afterRefusedPost(target, plan, error);
    }
    const postedAt = new Date(clock.now()).toISOString();
    if (reservation !== undefined) await store.breaker.commit(reservation, action.id);
    const tracking = trackedAction(target, action.id, postedAt, false);
    await recordFollowed(store, target.request, tracking, action, plan.reason, postedAt);
    await this.track(target.request, tracking);
  }

  /**
   * MDE refused the POST. A device restricted for good is escalated; 400 ActiveRequestAlreadyExists:
   * someone else's action is under way, adopt it, don't fail.
   */
  private async afterRefusedPost(target: Target, plan: Plan, error: unknown): Promise<void> {
    // Refused for good on this device: escalated at once, naming the machine.
    if (error instanceof RestrictedDeviceError)
      return this.deps.lifecycle.finish(target.request, {
        ...where(target.machine),
        outcome: 'escalated',
        rule: RESTRICTED_DEVICE_RULE,
        reason: error.message,
      });
    if (!(error instanceof ActionAlreadyInProgressError)) throw error;
    const current = await this.history(target.machine.id);
    const ledger = await this.deps.store.actions.forMachine(target.machine.id);
    const open = judgePriorActions(
      target.verb,
      current ?? [],
      this.asOf(),
      await this.postedByThisApp(ledger),
    );
    if (open.kind === 'adopt') return this.adopt(target, plan, open.action);
    if (open.kind === 'skip' && isOpen(open.action))
      return this.deps.lifecycle.finish(target.request, {
        ...where(target.machine),
        outcome: 'skipped',
        actionId: open.action.id,
        reason: open.reason,
      });
    // The action in progress is the opposite one: the same refusal as before posting.
    if (open.kind === 'conflict') return this.refuseConflict(target, open.action.id, open.reason);
    // MDE's list does not show the action yet: retried with backoff (planAfterFailure), by which
    // time it should.
    throw error;
  }

  /**
   * The opposite action is under way: MDE completes actions out of submission order (docs/mde-api.md §10),
   * so posting now could leave the device in the state nobody wanted last. A person has to choose.
   */
  private async refuseConflict(
    { request, machine }: Target,
    actionId: string | undefined,
    reason: string,
  ): Promise<void> {
    await this.deps.lifecycle.finish(request, {
      ...where(machine),
      outcome: 'escalated',
      rule: 'action-conflict',
      actionId,
      reason,
    });
  }

  /**
   * The machine's isolate and release actions of the lookback period, all of them (MDE promises no
   * order, so "the first page" is not "the newest"), from a read begun after this call and so after
   * the request's receipt and after this request took the machine's lock. Null when there are too
   * many to see them all.
   */
  private history(machineId: string): Promise<MachineAction[] | null> {
    return this.deps.recent.of(machineId);
  }

  /**
   * This request's outcome is `action`'s. An isolation this app posted with this request's comment
   * (an earlier attempt whose answer was lost) is counted by the breaker; counting is per action,
   * so adopting it again counts nothing.
   */
  private async adopt(target: Target, plan: Plan, action: MachineAction, latest?: MachineAction) {
    const { store, clock, lifecycle } = this.deps;
    const { request, verb } = target;
    if (verb === 'isolate' && action.requestorComment?.trim() === plan.comment.trim())
      await store.breaker.commit(null, action.id);
    const tracked = trackedAction(target, action.id, action.creationDateTimeUtc, true);
    await recordFollowed(store, request, tracked, action, plan.reason, new Date(clock.now()).toISOString());
    lifecycle.adopted(request, action);
    if (!isTerminal(action.status)) return this.track(request, tracked);
    // Already over: its status is this request's outcome, no polling needed.
    const tracking = trackingRequestFor(request, tracked);
    const since =
      latest && latest.id !== action.id
        ? `; since then: ${latest.type} action ${latest.id} (${latest.status})`
        : '';
    const reason = `${terminalReason(tracked, action)}${since}`;
    const state = endState(verb, action.status);
    await recordEnded(store, tracking, tracked, { state, reason, action }, this.deps.platformLiftMs);
    if (state === 'isolated')
      await scheduleIsolationEnd(this.deps.queue, tracking, action, this.deps.platformLiftMs, clock.now());
    await lifecycle.finish(tracking, {
      outcome: OUTCOME_OF_STATUS[action.status] ?? 'failed',
      actionStatus: action.status,
      reason,
    });
  }

  /** The request's outcome now depends on MDE's action: tracking reports it when it ends. */
  private async track(request: ActionRequest, tracked: TrackedAction): Promise<void> {
    const tracking = trackingRequestFor(request, tracked);
    const firstPoll = this.deps.clock.now() + this.deps.timing.trackFirstPollMs;
    await this.deps.queue.schedule(messageFor(tracking), new Date(firstPoll));
  }

  /**
   * Runs `work` holding the machine's claim in the store (state/claim.ts), so a request of another
   * process (another name of the device, the CLI on the app's storage, an overlapping deployment)
   * never checks and posts at the same time; while another request holds it, this one waits a little.
   */
  private async withMachineClaim(target: Target, work: (term: number) => Promise<void>): Promise<void> {
    const { store, claims, lifecycle, clock, timing } = this.deps;
    const { request, machine } = target;
    const { holder } = await claims.holding();
    const { term } = claims;
    const answer = await store.machineClaims.take(machine.id, request.requestId, holder);
    if (!answer.taken)
      return lifecycle.defer(
        request,
        Math.min(answer.by.heldUntil, clock.now() + timing.transientBaseMs),
        `request ${answer.by.requestId} is checking or posting to machine ${machine.id}; asked again once it is done`,
      );
    try {
      await work(term);
    } finally {
      await claims.close(`machine:${machine.id}:${request.requestId}`, () =>
        store.machineClaims.release(machine.id, request.requestId, holder),
      );
    }
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

/**
 * An alert whose title says attack disruption acted, on a device MDE lists no Defender isolation of
 * (a skip would have ended the request): isolated as the policy decides, since a title proves nothing
 * (alerts/disruption.ts), and the register says so.
 */
function withDisruptionClaim({ request, verb }: Target, plan: Plan): Plan {
  if (verb !== 'isolate' || !saysAttackDisruption(request.alert)) return plan;
  return {
    ...plan,
    reason: `${plan.reason} (the alert says attack disruption acted, but MDE lists no isolation of this device by Defender)`,
  };
}

function isOpen(action: MachineAction): boolean {
  return !isTerminal(action.status);
}

function where(machine: Machine) {
  return { machineId: machine.id, computerDnsName: machine.computerDnsName };
}

function trackedAction(
  { verb, machine }: Target,
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

function describeMachines(machines: Machine[]): string {
  return machines
    .slice(0, MAX_LISTED_MACHINES)
    .map((m) => `${m.id} (${m.computerDnsName ?? 'no name'}, last seen ${m.lastSeen})`)
    .join(', ')
    .concat(
      machines.length > MAX_LISTED_MACHINES ? `, and ${machines.length - MAX_LISTED_MACHINES} more` : '',
    );
}
