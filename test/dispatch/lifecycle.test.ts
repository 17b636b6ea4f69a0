import { parseRateLimits } from '../../shared/config';
import { ClaimKeeper } from '../../shared/dispatch/claim-keeper';
import { BudgetShortError, Reservation } from '../../shared/dispatch/quota/reservation';
import { MdeThrottle } from '../../shared/dispatch/quota/throttle';
import {
  type IsolationRequest,
  manualRequest,
  type TrackedAction,
  trackingRequestFor,
} from '../../shared/dispatch/request';
import { planAfterFailure, RequestLifecycle } from '../../shared/dispatch/steps/lifecycle';
import { DEFAULT_TIMING } from '../../shared/dispatch/timing';
import { InProcessQueue } from '../../shared/dispatch/transport/in-process-queue';
import {
  ActionAlreadyInProgressError,
  ForbiddenError,
  NotFoundError,
  RateLimitedError,
  RefusedBeforeSendingError,
  TransientError,
  UnauthorizedError,
  UnsupportedError,
} from '../../shared/mde/errors';
import { InMemoryStateStore } from '../../shared/state/memory';
import { StoreUnavailableError } from '../../shared/state/store';
import { alertOf } from '../support/alerts';
import { silentReporter } from '../support/reporter';

const details = { operation: 'isolate', api: 'isolate' as const };
const request = { attempt: 0 } as IsolationRequest;
const plan = (error: unknown, attempt = 0) =>
  planAfterFailure(error, { ...request, attempt }, 1_000, DEFAULT_TIMING, () => 0.5);

describe('planAfterFailure', () => {
  it('defers on 429 for exactly Retry-After, and on a short budget until it frees', () => {
    expect(plan(new RateLimitedError('429', details, 7_000))).toMatchObject({ kind: 'defer', at: 8_000 });
    expect(plan(new RateLimitedError('429', details, null))).toMatchObject({
      kind: 'defer',
      at: 1_000 + DEFAULT_TIMING.defaultRetryAfterMs,
    });
    expect(plan(new BudgetShortError('machines', 4_242))).toMatchObject({ kind: 'defer', at: 4_242 });
  });

  it('retries transient failures with growing backoff, then dead-letters with the reason', () => {
    const transient = new TransientError(
      '503',
      { operation: 'getMachine', api: 'machines' },
      'server-error',
      false,
    );
    const first = plan(transient, 0);
    const third = plan(transient, 2);
    expect(first).toMatchObject({ kind: 'retry' });
    expect(third).toMatchObject({ kind: 'retry' });
    expect((third as { at: number }).at).toBeGreaterThan((first as { at: number }).at);
    expect(plan(transient, DEFAULT_TIMING.transientMaxAttempts - 1)).toMatchObject({
      kind: 'dead-letter',
      reason: 'RetriesExhausted',
      description: expect.stringContaining('503'),
    });
    expect(plan(new TypeError('bug'), DEFAULT_TIMING.transientMaxAttempts - 1)).toMatchObject({
      kind: 'dead-letter',
    });
  });

  it('waits for an unreachable state store with backoff, never counting it as a failure, then dead-letters', () => {
    const down = new StoreUnavailableError(
      'state store unreachable (read on mdeisolatorActions: ECONNREFUSED)',
    );
    const isolate = { ...request, action: 'isolate' } as IsolationRequest;
    const first = planAfterFailure(down, isolate, 1_000, DEFAULT_TIMING, () => 0.5);
    // An isolate may have been posted before the bookkeeping failed: MDE's list must show it first.
    expect(first).toEqual({
      kind: 'defer',
      at: 1_000 + DEFAULT_TIMING.uncertainPostRecheckMs,
      why: expect.stringMatching(/state store unavailable .*nothing posted/),
      storeOutage: { since: new Date(1_000).toISOString(), deferrals: 1 },
    });
    const track = {
      ...request,
      action: 'track',
      storeOutage: { since: new Date(0).toISOString(), deferrals: 3 },
    };
    const later = planAfterFailure(down, track as IsolationRequest, 1_000, DEFAULT_TIMING, () => 0.5);
    expect(later).toMatchObject({
      kind: 'defer',
      storeOutage: { since: new Date(0).toISOString(), deferrals: 4 },
    });
    expect((later as { at: number }).at).toBeLessThan(1_000 + DEFAULT_TIMING.storeRetryMaxMs + 1);
    const waitedOut = planAfterFailure(
      down,
      track as IsolationRequest,
      DEFAULT_TIMING.storeOutageMaxMs,
      DEFAULT_TIMING,
      () => 0.5,
    );
    expect(waitedOut).toMatchObject({
      kind: 'dead-letter',
      reason: 'StateStoreUnavailable',
      description: expect.stringContaining('ECONNREFUSED'),
    });
  });

  it('waits for MDE to list an action before retrying a POST whose answer was lost', () => {
    const lostPost = new TransientError('timeout', details, 'timeout', true);
    expect(plan(lostPost)).toMatchObject({
      kind: 'retry',
      at: 1_000 + DEFAULT_TIMING.uncertainPostRecheckMs,
      why: expect.stringMatching(/lost POST/),
    });
    // A lookup that failed created nothing: the ordinary backoff is enough.
    const lostRead = new TransientError(
      'timeout',
      { operation: 'listMachineActions', api: 'machineactions' },
      'timeout',
      true,
    );
    expect((plan(lostRead) as { at: number }).at).toBeLessThan(1_000 + DEFAULT_TIMING.uncertainPostRecheckMs);
    // A POST refused before it reached MDE cannot have created an action either.
    const refused = new TransientError('503', details, 'server-error', false);
    expect((plan(refused) as { at: number }).at).toBeLessThan(1_000 + DEFAULT_TIMING.uncertainPostRecheckMs);
  });

  it('retries a conflict whose pending action could not be found, within the same bound', () => {
    const conflict = new ActionAlreadyInProgressError('400', details);
    expect(plan(conflict)).toMatchObject({ kind: 'retry' });
    expect(plan(conflict, 99)).toMatchObject({ kind: 'dead-letter', reason: 'ActionNotFoundAfterConflict' });
  });

  it('ends at once, with a clear reason, where retrying cannot help', () => {
    expect(plan(new ForbiddenError('Machine.Isolate', details))).toMatchObject({
      kind: 'terminal',
      why: expect.stringContaining('Machine.Isolate'),
    });
    expect(
      plan(new NotFoundError('404', { ...details, apiMessage: 'Machine x was not found' })),
    ).toMatchObject({ kind: 'terminal', why: expect.stringContaining('was not found') });
    expect(plan(new UnsupportedError('400', details))).toMatchObject({ kind: 'terminal' });
  });

  it('ends a request the client refused before sending, saying so rather than blaming MDE', () => {
    const refused = new RefusedBeforeSendingError('comment', ' ', 'a non-empty comment', details);
    const ended = plan(refused, DEFAULT_TIMING.transientMaxAttempts - 1);
    expect(ended).toEqual({
      kind: 'terminal',
      why: 'isolate refused before sending to MDE: comment " " is not a non-empty comment',
    });
  });

  it('backs off after a 401 that outlived the fresh-token resend, then dead-letters it as Unauthorized', () => {
    const refused = new UnauthorizedError('401', details);
    expect(plan(refused)).toMatchObject({ kind: 'retry', at: expect.any(Number) });
    expect((plan(refused, 2) as { at: number }).at).toBeGreaterThan((plan(refused, 0) as { at: number }).at);
    expect(plan(refused, DEFAULT_TIMING.transientMaxAttempts - 1)).toMatchObject({
      kind: 'dead-letter',
      reason: 'Unauthorized',
      description: expect.stringContaining('MDE_CLOUD'),
    });
  });
});

/** A lifecycle on a fixed clock, over a throttle and a queue the test inspects, and a manual isolation. */
function lifecycleOnFixedClock() {
  const clock = { now: () => 1_000 };
  const throttle = new MdeThrottle({ rateLimits: parseRateLimits('100/1000ms'), headroom: 0, clock });
  const queue = new InProcessQueue({ clock });
  const store = new InMemoryStateStore({ clock });
  const lifecycle = new RequestLifecycle(
    queue,
    silentReporter,
    throttle,
    clock,
    DEFAULT_TIMING,
    () => 0.5,
    store,
    new ClaimKeeper(store, clock, silentReporter, 'inline'),
  );
  const device = { hostname: 'ws-1' };
  const alert = alertOf({
    source: 'manual',
    alertId: 'manual-1',
    incidentId: null,
    title: 'IR-1',
    categories: [],
    mitreTechniques: [],
    devices: [device],
  });
  const isolation = manualRequest('isolate', device, 'Full', 'enforce', {
    alert,
    receivedAt: new Date(clock.now()),
    policyVersion: 'v1',
    requestedBy: { kind: 'caller', name: 'analyst' },
  });
  const close = async () => {
    await queue.close();
    await throttle.stop();
  };
  return { clock, throttle, queue, lifecycle, isolation, close };
}

describe('RequestLifecycle', () => {
  it('after a 429, holds every caller of that API in the process until Retry-After, not only the request', async () => {
    const { throttle, queue, lifecycle, isolation, close } = lifecycleOnFixedClock();
    try {
      expect(await lifecycle.failed(isolation, new RateLimitedError('429', details, 7_000))).toBe('defer');
      expect(throttle.reserve({ isolate: 1 }, 0, 'another-request')).toEqual({ retryAt: 8_000 });
      expect(throttle.reserve({ machines: 1 }, 0)).toBeInstanceOf(Reservation);
      expect(queue.pending()).toBe(1);
    } finally {
      await close();
    }
  });

  it('names the tracked action in the message id on requeue: tracking another action of the same request is never a duplicate', async () => {
    const { clock, queue, lifecycle, isolation, close } = lifecycleOnFixedClock();
    const tracked = (actionId: string): TrackedAction => ({
      actionId,
      action: 'isolate',
      machineId: 'a'.repeat(40),
      computerDnsName: 'ws-1',
      postedAt: new Date(clock.now()).toISOString(),
      adopted: false,
      polls: 1,
    });
    try {
      for (const actionId of ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'])
        await lifecycle.requeue(
          trackingRequestFor(isolation, tracked(actionId)),
          2_000,
          'isolation-tracking',
          'poll',
        );
      // The same state sent again (a redelivered poll) is still collapsed.
      await lifecycle.requeue(
        trackingRequestFor(isolation, tracked('22222222-2222-4222-8222-222222222222')),
        2_000,
        'isolation-tracking',
        'poll',
      );
      expect(queue.stats).toMatchObject({ accepted: 2, duplicatesDropped: 1 });
    } finally {
      await close();
    }
  });
});
