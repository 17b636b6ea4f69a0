/**
 * Follows a posted (or adopted) MachineAction to its end, polls spaced out by the tracking backoff.
 * A poll takes the status from the list of every followed action (action-statuses.ts: one call per
 * poll cycle for all of them), or, when the list does not show the action, from
 * `GET /api/machineactions/{id}`; both within the machineactions budget at tracking's priority. The
 * terminal status becomes the request's outcome record.
 */
import type { Clock } from '../../kernel/clock';
import type { MdeApi } from '../../mde/api';
import { isTerminal, type MachineAction } from '../../mde/types';
import type { IsolationPolicy } from '../../policy/types';
import type { IncidentReader } from '../../sentinel/incidents';
import type { IsolationState } from '../../state/store';
import { type StateStore, StoreUnavailableError } from '../../state/store';
import { OUTCOME_OF_STATUS, type OutcomeDetails } from '../outcome';
import { withReservation } from '../quota/current-reservation';
import { Reservation } from '../quota/reservation';
import type { MdeThrottle } from '../quota/throttle';
import type { ActionRequest, TrackedAction, TrackRequest } from '../request';
import { type DispatchTiming, trackingPollDelayMs } from '../timing';
import { messageFor, type RequestQueue } from '../transport/queue';
import type { ActionStatuses } from './action-statuses';
import { scheduleIsolationEnd } from './isolation-end';
import type { RequestLifecycle } from './lifecycle';
import { afterTimeOut, OFFLINE_TIMEOUT_RULE } from './offline-timeout';
import { endState, recordEnded } from './register';

export interface TrackerDeps {
  api: MdeApi;
  /** What a rule asks when its isolation ends TimeOut (offline-timeout.ts). */
  policy: Pick<IsolationPolicy, 'onTimeoutOf'>;
  statuses: ActionStatuses;
  throttle: MdeThrottle;
  store: StateStore;
  lifecycle: RequestLifecycle;
  timing: DispatchTiming;
  clock: Clock;
  random: () => number;
  /** How long MDE lets an isolation last: the register's `expiresAt` (expiry.ts). */
  platformLiftMs: number;
  /** Where a time-boxed isolation's release (time-box.ts) and a TimeOut's retry (offline-timeout.ts) go. */
  queue: RequestQueue;
  /** Whether a Sentinel incident is still open, for a TimeOut's retry (offline-timeout.ts). */
  incidents: IncidentReader;
}

export class ActionTracker {
  constructor(private readonly deps: TrackerDeps) {}

  async poll(request: TrackRequest): Promise<void> {
    const { lifecycle, timing, clock } = this.deps;
    const { tracking } = request;
    if (clock.now() - Date.parse(tracking.postedAt) > timing.trackGiveUpMs)
      // MDE itself stops retrying an offline device after 3 days; past that, polling learns nothing.
      return this.recorded(request, () =>
        this.end(request, 'timed-out', {
          machineId: tracking.machineId,
          computerDnsName: tracking.computerDnsName,
          outcome: 'tracking-expired',
          reason: `action ${tracking.actionId} did not end within MDE's retry period; check it in the portal and resubmit if needed`,
        }),
      );
    let action: MachineAction | null;
    try {
      const listed = await this.deps.statuses.status(tracking.actionId, Date.parse(tracking.postedAt));
      if (listed.kind === 'later') return await this.recorded(request, () => this.pollAt(request, listed.at));
      action = listed.kind === 'listed' ? listed.action : await this.readById(request);
    } catch (error) {
      const plan = await lifecycle.failed(request, error);
      // Tracking ended without a final status (error, dead letter): nobody follows the action any
      // more, so the next request for the machine must ask MDE instead of trusting the ledger.
      if (plan === 'terminal' || plan === 'dead-letter') await this.abandon(request, error);
      return;
    }
    if (action === null) return;
    await this.recorded(request, () => this.afterPoll(request, action));
  }

  /**
   * The poll comes again at `at`, when the next status list is due. It read nothing, so it counts as
   * a deferral (a wait for the lists' budget), not a poll: the poll intervals keep their pace.
   */
  private async pollAt(request: TrackRequest, at: number): Promise<void> {
    await this.deps.lifecycle.requeue(
      { ...request, deferrals: request.deferrals + 1 },
      at,
      'isolation-tracking',
      `action ${request.tracking.actionId} is newer than this cycle's status list; next poll with the next list`,
    );
  }

  /** The action by id, within the machineactions budget; null when the poll was deferred for budget. */
  private async readById(request: TrackRequest): Promise<MachineAction | null> {
    const { throttle, lifecycle } = this.deps;
    const reservation = throttle.reserve({ machineactions: 1 }, request.priority, request.requestId);
    if (!(reservation instanceof Reservation)) {
      await lifecycle.defer(request, reservation.retryAt, 'no machineactions budget for a tracking poll');
      return null;
    }
    try {
      // The poll spends this reservation (quota/current-reservation.ts).
      return await withReservation(reservation, () =>
        this.deps.api.getMachineAction(request.tracking.actionId),
      );
    } finally {
      reservation.close();
    }
  }

  /** Runs a step that writes to the store; when it cannot, the request waits for it and polls again. */
  private async recorded(request: TrackRequest, step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (error) {
      await this.deps.lifecycle.failed(request, error);
    }
  }

  private async afterPoll(request: TrackRequest, action: MachineAction): Promise<void> {
    const { lifecycle, timing, clock, store } = this.deps;
    const { tracking } = request;
    if (isTerminal(action.status)) {
      const details: OutcomeDetails = {
        machineId: tracking.machineId,
        computerDnsName: tracking.computerDnsName,
        outcome: OUTCOME_OF_STATUS[action.status] ?? 'failed',
        actionStatus: action.status,
        reason: terminalReason(tracking, action),
      };
      const onTimeout = this.deps.policy.onTimeoutOf(request.rule);
      const incidents = { reader: this.deps.incidents, maxAttempts: timing.transientMaxAttempts };
      const next = await afterTimeOut(request, action, onTimeout, clock.now(), incidents);
      if (next.kind === 'escalate')
        Object.assign(details, { outcome: 'escalated', rule: OFFLINE_TIMEOUT_RULE, reason: next.reason });
      if (next.kind !== 'escalate' && next.reason) details.reason = next.reason;
      await this.end(request, endState(tracking.action, action.status), details, action);
      // Queued once this request has let go of the device (its key and the ledger), so the retry is
      // decided at once; a retry the queue refuses is kept for an operator to replay, never dropped.
      if (next.kind === 'retry') await this.queueRetry(next.again);
      return;
    }
    await store.actions.setStatus(tracking.machineId, tracking.actionId, action.status);
    // A poll that answered resets the failure count: the bound is on consecutive failures, so a few
    // blips spread over days of waiting for an offline device do not dead-letter its tracking.
    const next = { ...request, attempt: 0, tracking: { ...tracking, polls: tracking.polls + 1 } };
    const delay = trackingPollDelayMs(tracking.polls + 1, action.status, timing, this.deps.random);
    await lifecycle.requeue(
      next,
      clock.now() + delay,
      'isolation-tracking',
      `action ${action.id} is ${action.status}; next poll in ${delay} ms`,
    );
  }

  private async queueRetry(again: ActionRequest): Promise<void> {
    try {
      await this.deps.queue.send(messageFor(again));
    } catch (error) {
      await this.deps.lifecycle.deadLetterMessage(
        again,
        again.requestId,
        'TimeoutRetryNotQueued',
        `the isolation posted again after a TimeOut could not be queued: ${error instanceof Error ? error.message : String(error)}; replay it when the device is back`,
      );
    }
  }

  /**
   * The action ended (or tracking gave up): the register shows how, the ledger closes it (the next
   * request for this machine asks MDE again), then the outcome is reported.
   */
  private async end(
    request: TrackRequest,
    state: IsolationState,
    details: OutcomeDetails,
    action?: MachineAction,
  ): Promise<void> {
    const { store, queue, platformLiftMs, clock } = this.deps;
    this.deps.statuses.forget(request.tracking.actionId);
    await recordEnded(
      store,
      request,
      request.tracking,
      { state, reason: details.reason, action },
      platformLiftMs,
    );
    if (state === 'isolated' && action)
      await scheduleIsolationEnd(queue, request, action, platformLiftMs, clock.now());
    await this.deps.lifecycle.finish(request, details);
  }

  /** Tracking failed for good; its outcome is reported. The store is told when it can be reached. */
  private async abandon(request: TrackRequest, error: unknown): Promise<void> {
    this.deps.statuses.forget(request.tracking.actionId);
    const reason = `tracking ended without a final status: ${error instanceof Error ? error.message : String(error)}`;
    try {
      await recordEnded(
        this.deps.store,
        request,
        request.tracking,
        { state: 'failed', reason },
        this.deps.platformLiftMs,
      );
    } catch (failure) {
      if (!(failure instanceof StoreUnavailableError)) throw failure;
      // The entry stays open: a new process resumes tracking it, and the next request for the
      // machine closes it once MDE lists the action as ended.
      this.deps.lifecycle.noteStoreMiss(request, failure);
    }
  }
}

export function terminalReason(tracking: TrackedAction, action: MachineAction): string {
  const verb = tracking.action === 'isolate' ? 'isolation' : 'release';
  const adopted = tracking.adopted ? ' (adopted: already under way when this request came)' : '';
  switch (action.status) {
    case 'Succeeded':
      return `MDE completed the ${verb} (action ${action.id})${adopted}`;
    case 'TimeOut':
      return `MDE gave up on the ${verb} (action ${action.id}): the device stayed offline through MDE's 3-day retry; resubmit when it is back`;
    case 'Cancelled':
      return `the ${verb} (action ${action.id}) was cancelled by ${action.cancellationRequestor ?? 'someone'}: ${action.cancellationComment ?? 'no comment'}`;
    default:
      return `MDE reports the ${verb} failed (action ${action.id}${action.errorHResult ? `, HRESULT ${action.errorHResult}` : ''}${action.troubleshootInfo ? `: ${action.troubleshootInfo}` : ''})`;
  }
}
