/**
 * How a request moves on after a step: deferred until budget frees, retried after a failure,
 * finished with an outcome, or dead-lettered. Every path ends in a queue message or a record, so a
 * request is never dropped silently.
 */

import { jitteredBackoffMs } from '../../kernel/backoff';
import type { Clock } from '../../kernel/clock';
import { errorSummary } from '../../kernel/errors';
import {
  ActionAlreadyInProgressError,
  BadRequestError,
  ForbiddenError,
  NotFoundError,
  RateLimitedError,
  RefusedBeforeSendingError,
  RestrictedDeviceError,
  TransientError,
  UnauthorizedError,
  UnsupportedError,
} from '../../mde/errors';
import type { MachineAction } from '../../mde/types';
import { type OpenRequest, type StateStore, StoreUnavailableError } from '../../state/store';
import type { ClaimKeeper } from '../claim-keeper';
import type { DeferredRequests } from '../deferred-requests';
import { type DispatchReporter, type OutcomeDetails, outcomeRecord } from '../outcome';
import { BudgetShortError } from '../quota/reservation';
import type { MdeThrottle } from '../quota/throttle';
import {
  type ActionRequest,
  type IsolationRequest,
  type StoreOutage,
  type TrackedAction,
  trackingRequestFor,
} from '../request';
import { type DispatchTiming, transientRetryDelayMs } from '../timing';
import { type DeadLetterRecord, messageFor, type RequestQueue } from '../transport/queue';
import { closeStep, coalescedInto, keyOf } from './coalesce';
import type { Ending } from './ending';

export type FailurePlan =
  | { kind: 'defer'; at: number; why: string; storeOutage?: StoreOutage }
  | { kind: 'retry'; at: number; why: string }
  | { kind: 'dead-letter'; reason: string; description: string }
  | { kind: 'terminal'; why: string }
  /** A refusal that will not change: a person decides, at once (never retried nor dead-lettered). */
  | { kind: 'escalate'; rule: string; why: string };

/** The rule an escalation names when MDE refuses response actions on the device. */
export const RESTRICTED_DEVICE_RULE = 'restricted-device';

/** What to do with a request whose step threw `error`. Pure, so every branch is tested. */
export function planAfterFailure(
  error: unknown,
  request: IsolationRequest,
  now: number,
  timing: DispatchTiming,
  random: () => number,
): FailurePlan {
  if (error instanceof StoreUnavailableError) return planForStoreOutage(error, request, now, timing, random);
  if (error instanceof BudgetShortError)
    return {
      kind: 'defer',
      at: error.retryAt,
      why: `${error.api} budget used up; waiting for the window to slide`,
    };
  if (error instanceof RateLimitedError) {
    // MDE's count wins over ours (another tool may share the identity): wait exactly as asked,
    // which is not a failure of the request and never leads to giving up.
    const wait = error.retryAfterMs ?? timing.defaultRetryAfterMs;
    return { kind: 'defer', at: now + wait, why: `MDE answered 429 on ${error.api}; Retry-After ${wait} ms` };
  }
  if (error instanceof RestrictedDeviceError)
    return { kind: 'escalate', rule: RESTRICTED_DEVICE_RULE, why: error.message };
  if (error instanceof ForbiddenError) return { kind: 'terminal', why: error.message };
  if (error instanceof NotFoundError)
    return {
      kind: 'terminal',
      why: `MDE does not know it (${error.operation}): ${error.apiMessage ?? error.message}`,
    };
  if (error instanceof UnsupportedError)
    return {
      kind: 'terminal',
      why: `MDE cannot do this on the device: ${error.apiMessage ?? error.message}`,
    };
  if (error instanceof BadRequestError)
    return { kind: 'terminal', why: `MDE rejected the request: ${error.message}` };
  // The client's own check: MDE was never called, so only the message says what was wrong.
  if (error instanceof RefusedBeforeSendingError) return { kind: 'terminal', why: error.message };
  // Transient failures, a 401 that outlived the client's resend with a token fetched anew (a token
  // revocation or a key rollover takes a while to settle), a duplicate-action answer whose action
  // could not be found yet, and anything unexpected: retrying may help, but only a bounded number of
  // times, so a poison message ends in a dead-letter record an operator sees and can replay.
  const attempt = request.attempt + 1;
  const what = errorSummary(error);
  if (attempt >= timing.transientMaxAttempts)
    return {
      kind: 'dead-letter',
      reason: deadLetterReasonOf(error),
      description:
        error instanceof UnauthorizedError
          ? `MDE refused the app's token on ${attempt} attempts, each time also a token fetched anew from the identity endpoint: check that the identity belongs to the tenant and MDE_CLOUD matches it; last error: ${what}`
          : `gave up after ${attempt} failed attempts; last error: ${what}`,
    };
  // MDE has no idempotency key: after a POST that may have been executed, the retry's only guard
  // against a second action is MDE's list of actions, which must have had time to show the first.
  const uncertainPost =
    error instanceof TransientError &&
    error.mayHaveExecuted &&
    (error.api === 'isolate' || error.api === 'unisolate');
  const delay = Math.max(
    transientRetryDelayMs(attempt, timing, random),
    uncertainPost ? timing.uncertainPostRecheckMs : 0,
  );
  return {
    kind: 'retry',
    at: now + delay,
    why: `attempt ${attempt} of ${timing.transientMaxAttempts} failed (${what}); retrying with backoff${uncertainPost ? ', after MDE had time to list an action the lost POST may have created' : ''}`,
  };
}

/**
 * The state store is unreachable: nothing may be posted unchecked, so the request waits with backoff,
 * which is no failure of the request, up to `storeOutageMaxMs` after it first found the store down.
 */
function planForStoreOutage(
  error: StoreUnavailableError,
  request: IsolationRequest,
  now: number,
  timing: DispatchTiming,
  random: () => number,
): FailurePlan {
  const since = request.storeOutage?.since ?? new Date(now).toISOString();
  const waited = now - Date.parse(since);
  if (waited >= timing.storeOutageMaxMs)
    return {
      kind: 'dead-letter',
      reason: 'StateStoreUnavailable',
      description: `the state store stayed unreachable for ${Math.round(waited / 1000)} s (since ${since}); nothing is posted unchecked; last error: ${error.message}`,
    };
  const deferrals = (request.storeOutage?.deferrals ?? 0) + 1;
  const backoff = jitteredBackoffMs(deferrals, timing.storeRetryBaseMs, timing.storeRetryMaxMs, random);
  // The store may have failed on the bookkeeping after a POST MDE accepted: the retry must give MDE's
  // list time to show that action, which it then adopts instead of posting again.
  const floor = request.action === 'track' ? 0 : timing.uncertainPostRecheckMs;
  return {
    kind: 'defer',
    at: now + Math.max(backoff, floor),
    why: `state store unavailable (${error.message}); nothing posted, waiting for it`,
    storeOutage: { since, deferrals },
  };
}

/** The `reason` of a dead-letter record: what an operator filters and replays by. */
function deadLetterReasonOf(error: unknown): string {
  if (error instanceof ActionAlreadyInProgressError) return 'ActionNotFoundAfterConflict';
  if (error instanceof UnauthorizedError) return 'Unauthorized';
  return 'RetriesExhausted';
}

export class RequestLifecycle {
  /** When the store outage was last logged, and how many deferrals for it since. */
  private outageLoggedAt = Number.NEGATIVE_INFINITY;
  private outageDeferrals = 0;

  constructor(
    private readonly queue: RequestQueue,
    private readonly reporter: DispatchReporter,
    private readonly throttle: MdeThrottle,
    private readonly clock: Clock,
    private readonly timing: DispatchTiming,
    private readonly random: () => number,
    private readonly store: StateStore,
    private readonly claims: ClaimKeeper,
    private readonly deferred?: DeferredRequests,
  ) {}

  /** Carries out how a step of the request's life (worker.ts) ended it. */
  async end(ending: Ending): Promise<void> {
    switch (ending.end) {
      case 'outcome':
        return this.finish(ending.request, ending.details);
      case 'deferred':
        return this.defer(ending.request, ending.at, ending.why);
      case 'absorbed':
        return this.absorbed(ending.request, ending.carrier);
      case 'tracked':
        return this.track(ending.request, ending.tracked);
    }
  }

  /** The request's outcome now depends on MDE's action: tracking reports it when it ends. */
  private async track(request: ActionRequest, tracked: TrackedAction): Promise<void> {
    const tracking = trackingRequestFor(request, tracked);
    const firstPoll = this.clock.now() + this.timing.trackFirstPollMs;
    await this.queue.schedule(messageFor(tracking), new Date(firstPoll));
  }

  /**
   * The request's one outcome record. Its device key stops holding the request first (under the
   * key it was opened under, by request id), so the record can list the alerts it absorbed; when the
   * store refuses that, the record still goes out and the close is retried (claim-keeper.ts) until
   * it lands or this process's lease lapses.
   */
  async finish(request: IsolationRequest, details: OutcomeDetails): Promise<void> {
    this.throttle.forget(request.requestId);
    let absorbed: OutcomeDetails['absorbed'];
    const key = keyOf(request);
    try {
      const closed = await this.claims.close(`open:${request.requestId}`, () =>
        this.store.openRequests.update(key, closeStep(request.requestId, this.clock.now())),
      );
      if (closed?.absorbedCount) absorbed = { count: closed.absorbedCount, alerts: closed.absorbed };
    } catch (error) {
      this.reporter.note('error', {
        event: 'open-request-not-closed',
        why: errorSummary(error),
        requestId: request.requestId,
        deviceKey: key,
      });
    }
    this.reporter.outcome(
      outcomeRecord(
        request,
        { ...details, ...(absorbed && { absorbed }), quotaCeilings: this.throttle.learnedCeilings() },
        this.clock.now(),
      ),
    );
  }

  /**
   * The outcome of a request `carrier` took on. It never held its device key (the carrier does), so
   * there is no entry to close: a storm's absorbed alerts cost the store nothing more here.
   */
  absorbed(request: IsolationRequest, carrier: OpenRequest): void {
    this.throttle.forget(request.requestId);
    this.reporter.outcome(
      outcomeRecord(
        request,
        { ...coalescedInto(carrier), quotaCeilings: this.throttle.learnedCeilings() },
        this.clock.now(),
      ),
    );
  }

  /**
   * Waits for budget or a Retry-After: not a failure, so it does not count towards giving up. One
   * waiting for budget is brought forward if the budget frees sooner (deferred-requests.ts).
   */
  async defer(request: IsolationRequest, at: number, why: string): Promise<void> {
    const next = { ...request, deferrals: request.deferrals + 1 };
    const messageId = await this.requeue(next, at, 'isolation-deferred', why);
    this.deferred?.hold(request.requestId, messageId, at);
  }

  /** Waits for the state store; the outage is logged once per interval, not once per request. */
  private async deferForStore(
    request: IsolationRequest,
    plan: { at: number; why: string; storeOutage: StoreOutage },
  ): Promise<void> {
    const next = { ...request, deferrals: request.deferrals + 1, storeOutage: plan.storeOutage };
    await this.requeue(next, plan.at, 'isolation-deferred', plan.why, { quiet: true });
    this.outageDeferrals += 1;
    const now = this.clock.now();
    if (now - this.outageLoggedAt < this.timing.storeOutageLogMs) return;
    this.reporter.note('error', {
      event: 'state-store-unavailable',
      why: plan.why,
      deferredRequests: this.outageDeferrals,
      waitingSince: plan.storeOutage.since,
    });
    this.outageLoggedAt = now;
    this.outageDeferrals = 0;
  }

  /** A bookkeeping write the state store refused, after the request's outcome was settled. */
  noteStoreMiss(request: IsolationRequest, error: StoreUnavailableError): void {
    this.reporter.note('warn', {
      event: 'state-store-write-missed',
      why: error.message,
      requestId: request.requestId,
      action: request.action,
    });
  }

  /** Carries out `planAfterFailure`; answers which plan it was, so a caller knows whether the request ended. */
  async failed(request: IsolationRequest, error: unknown): Promise<FailurePlan['kind']> {
    const plan = planAfterFailure(error, request, this.clock.now(), this.timing, this.random);
    switch (plan.kind) {
      case 'defer':
        if (plan.storeOutage) {
          await this.deferForStore(request, { ...plan, storeOutage: plan.storeOutage });
          break;
        }
        if (error instanceof RateLimitedError) {
          // After a 429 the whole process waits with this request, not only this request.
          this.throttle.pause(error.api, plan.at);
          await this.defer({ ...request, rateLimited: (request.rateLimited ?? 0) + 1 }, plan.at, plan.why);
        } else await this.defer(request, plan.at, plan.why);
        break;
      case 'retry':
        await this.requeue(
          { ...request, attempt: request.attempt + 1 },
          plan.at,
          'isolation-retry',
          plan.why,
        );
        break;
      case 'terminal':
        await this.finish(request, { outcome: 'error', reason: plan.why });
        break;
      case 'escalate':
        await this.finish(request, { outcome: 'escalated', rule: plan.rule, reason: plan.why });
        break;
      case 'dead-letter':
        await this.deadLetter({ ...request, attempt: request.attempt + 1 }, plan.reason, plan.description);
        break;
    }
    return plan.kind;
  }

  /**
   * Functions cannot dead-letter a message with a reason from the Node v4 model, so the record goes to
   * the `<queue>-deadletter` queue and to the log as one error record; the request ends here.
   */
  async deadLetter(request: IsolationRequest, reason: string, description: string): Promise<void> {
    await this.writeDeadLetter(request, request.dedupeKey, reason, description);
    await this.finish(request, { outcome: 'dead-lettered', reason: `${reason}: ${description}` });
  }

  /** A message that is no isolation request at all: kept for an operator, never retried. */
  async deadLetterMessage(
    body: unknown,
    messageId: string,
    reason: string,
    description: string,
  ): Promise<void> {
    await this.writeDeadLetter(body, messageId, reason, description);
  }

  private async writeDeadLetter(body: unknown, messageId: string, reason: string, description: string) {
    const record: DeadLetterRecord = {
      event: 'isolation-dead-letter',
      reason,
      description,
      messageId,
      deadLetteredAt: new Date(this.clock.now()).toISOString(),
      request: body,
    };
    await this.queue.deadLetter(record);
    this.reporter.note('error', { ...record });
  }

  /**
   * The request follows an action someone else posted (an analyst, Defender, an earlier run): said
   * at once, for the log and for a CLI waiting on the request, which would otherwise see nothing
   * until tracking's first read.
   */
  adopted(request: IsolationRequest, action: MachineAction): void {
    const { id, type, status, machineId, computerDnsName, requestor, creationDateTimeUtc } = action;
    this.reporter.note('info', {
      event: 'action-adopted',
      requestId: request.requestId,
      action: { id, type, status, machineId, computerDnsName, requestor, creationDateTimeUtc },
    });
  }

  /** Sends the next state of a request as a new scheduled message and lets the current one complete. */
  async requeue(
    next: IsolationRequest,
    at: number,
    event: string,
    why: string,
    options: { quiet?: boolean } = {},
  ): Promise<string> {
    // The id names the request and its state, including the action tracked: a redelivered message
    // that requeues again sends the same id, which duplicate detection drops, so a requeue is itself
    // idempotent, while tracking of another action by the same request is never taken for it.
    const tracking = next.action === 'track' ? next.tracking : null;
    const state = `${next.attempt}.${next.deferrals}.${tracking?.polls ?? 0}`;
    const messageId = tracking
      ? `${next.requestId}:track:${tracking.actionId}:${state}`
      : `${next.requestId}:${next.action}:${state}`;
    await this.queue.schedule(messageFor(next, messageId), new Date(at));
    if (options.quiet) return messageId;
    // A retry means something failed; waiting for budget or polling is the normal course.
    this.reporter.note(event === 'isolation-retry' ? 'warn' : 'info', {
      event,
      why,
      requestId: next.requestId,
      action: next.action,
      dedupeKey: next.dedupeKey,
      attempt: next.attempt,
      deferrals: next.deferrals,
      retryAt: new Date(at).toISOString(),
    });
    return messageId;
  }
}
