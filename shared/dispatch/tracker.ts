/**
 * Follows a posted (or adopted) MachineAction to its end: one `GET /api/machineactions/{id}` per poll,
 * polls spaced out by the tracking backoff, each within the machineactions budget. The terminal
 * status becomes the request's outcome record.
 */
import type { Clock } from '../clock';
import type { MdeApi } from '../mde/api';
import { isTerminal, type MachineAction } from '../mde/types';
import type { PostedActions } from './idempotency';
import type { RequestLifecycle } from './lifecycle';
import type { OutcomeDetails } from './outcome';
import { OUTCOME_OF_STATUS } from './outcome';
import { withReservation } from './quota/current-reservation';
import { Reservation } from './quota/reservation';
import type { MdeThrottle } from './quota/throttle';
import type { TrackedAction, TrackRequest } from './request';
import { type DispatchTiming, trackingPollDelayMs } from './timing';

export interface TrackerDeps {
  api: MdeApi;
  throttle: MdeThrottle;
  posted: PostedActions;
  lifecycle: RequestLifecycle;
  timing: DispatchTiming;
  clock: Clock;
  random: () => number;
}

export class ActionTracker {
  constructor(private readonly deps: TrackerDeps) {}

  async poll(request: TrackRequest): Promise<void> {
    const { throttle, lifecycle, timing, clock } = this.deps;
    const { tracking } = request;
    const where = { machineId: tracking.machineId, computerDnsName: tracking.computerDnsName };
    if (clock.now() - Date.parse(tracking.postedAt) > timing.trackGiveUpMs)
      // MDE itself stops retrying an offline device after 3 days; past that, polling learns nothing.
      return this.end(request, tracking, {
        ...where,
        outcome: 'tracking-expired',
        reason: `action ${tracking.actionId} did not end within MDE's retry period; check it in the portal and resubmit if needed`,
      });
    const reservation = throttle.reserve({ machineactions: 1 }, request.priority, request.requestId);
    if (!(reservation instanceof Reservation))
      return lifecycle.defer(request, reservation.retryAt, 'no machineactions budget for a tracking poll');
    let action: MachineAction;
    try {
      // The poll spends this reservation (quota/current-reservation.ts).
      action = await withReservation(reservation, () => this.deps.api.getMachineAction(tracking.actionId));
    } catch (error) {
      const plan = await lifecycle.failed(request, error);
      // Tracking ended without a final status (error, dead letter): this process no longer follows
      // the action, so the next request for the machine must ask MDE instead of trusting our record.
      if (plan === 'terminal' || plan === 'dead-letter')
        this.deps.posted.clear(tracking.machineId, tracking.actionId);
      return;
    } finally {
      reservation.close();
    }
    if (isTerminal(action.status))
      return this.end(request, tracking, {
        ...where,
        outcome: OUTCOME_OF_STATUS[action.status] ?? 'failed',
        actionStatus: action.status,
        reason: terminalReason(tracking, action),
      });
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

  /** The action ended (or tracking gave up): the next request for this machine asks MDE again. */
  private end(request: TrackRequest, tracking: TrackedAction, details: OutcomeDetails): void {
    this.deps.posted.clear(tracking.machineId, tracking.actionId);
    this.deps.lifecycle.finish(request, details);
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
