/**
 * The process-wide MDE budget: for every API family (isolate, unisolate, machines, machineactions)
 * each window of MDE_RATE_LIMITS, minus the headroom, as a sliding-window log, plus a Bottleneck
 * limiter that queues the calls by priority and caps how many run at once.
 *
 * A request reserves every call it will make before it starts ("budget ahead", design §5). When the
 * budget is short it gets the moment the budget frees instead, and the worker reschedules the message
 * for then, rather than holding a message lock or half-doing a request.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import Bottleneck from 'bottleneck';
import type { RateWindow } from '../config';
import { MDE_APIS, type MdeApiName } from '../mde/api';
import type { MdeCallScheduler } from '../mde/client';
import { SlidingWindowLog } from './sliding-window';

export type CallBudget = Partial<Record<MdeApiName, number>>;

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Thrown by a reservation when a call beyond the reserved ones finds no budget. */
export class BudgetShortError extends Error {
  constructor(
    readonly api: MdeApiName,
    readonly retryAt: number,
  ) {
    super(`no ${api} budget before ${new Date(retryAt).toISOString()}`);
    this.name = 'BudgetShortError';
  }
}

/** Windows of MDE_RATE_LIMITS with the headroom taken off; at least one call per window. */
export function effectiveWindows(rateLimits: RateWindow[], headroom: number): { limit: number; windowMs: number }[] {
  return rateLimits.map((w) => ({ limit: Math.max(1, Math.floor(w.count * (1 - headroom))), windowMs: w.windowMs }));
}

class ApiBudget {
  private readonly logs: SlidingWindowLog[];
  /** Set from a 429's Retry-After: MDE's own view of the quota wins over ours. */
  pausedUntil = 0;

  constructor(windows: { limit: number; windowMs: number }[]) {
    this.logs = windows.map((w) => new SlidingWindowLog(w.limit, w.windowMs));
  }

  availableAt(now: number, count: number, busyRetryMs: number): number {
    let at = Math.max(now, this.pausedUntil);
    for (const log of this.logs) at = Math.max(at, log.availableAt(now, count) ?? now + busyRetryMs);
    return at;
  }

  take(count: number): void {
    for (const log of this.logs) log.take(count);
  }

  settle(at: number): void {
    for (const log of this.logs) log.settle(at);
  }

  refund(): void {
    for (const log of this.logs) log.refund();
  }

  used(now: number): number[] {
    return this.logs.map((log) => log.used(now));
  }
}

export interface ThrottleOptions {
  rateLimits: RateWindow[];
  headroom: number;
  clock?: Clock;
  /** Calls in flight per API at once. */
  maxConcurrent?: number;
  /** Retry delay when only calls still in flight hold the budget. */
  busyRetryMs?: number;
}

export class MdeThrottle {
  readonly clock: Clock;
  private readonly budgets: Record<MdeApiName, ApiBudget>;
  private readonly limiters: Record<MdeApiName, Bottleneck>;
  private readonly busyRetryMs: number;
  private readonly shortestWindowMs: number;
  private readonly claims: Record<MdeApiName, WaitingClaims>;
  private readonly claimGraceMs: number;

  constructor(options: ThrottleOptions) {
    this.clock = options.clock ?? systemClock;
    this.busyRetryMs = options.busyRetryMs ?? 250;
    const windows = effectiveWindows(options.rateLimits, options.headroom);
    this.shortestWindowMs = Math.min(...windows.map((w) => w.windowMs));
    // A refused request that does not come back within this (e.g. it was dead-lettered) stops blocking others.
    this.claimGraceMs = 2 * this.shortestWindowMs + this.busyRetryMs;
    const budgets = {} as Record<MdeApiName, ApiBudget>;
    const limiters = {} as Record<MdeApiName, Bottleneck>;
    const claims = {} as Record<MdeApiName, WaitingClaims>;
    for (const api of MDE_APIS) {
      budgets[api] = new ApiBudget(windows);
      limiters[api] = new Bottleneck({ maxConcurrent: options.maxConcurrent ?? 4 });
      claims[api] = new WaitingClaims(this.busyRetryMs);
    }
    this.budgets = budgets;
    this.limiters = limiters;
    this.claims = claims;
  }

  /**
   * Takes every call in `needs` now, or answers when they will all fit. `claimant` (the request id)
   * lets a refused request hold its place: until it is served, requests of lower priority needing the
   * same API wait behind it, so freed budget goes to high severity first whatever order the queue
   * delivers in, and tracking polls never take the calls an isolation needs.
   */
  reserve(needs: CallBudget, priority: number, claimant?: string): Reservation | { retryAt: number } {
    const now = this.clock.now();
    const apis = entries(needs).map(([api]) => api);
    let retryAt = this.availableAt(needs, now);
    for (const api of apis) retryAt = Math.max(retryAt, this.claims[api].outrankedUntil(priority, claimant, now));
    if (retryAt > now) {
      const at = this.staggered(retryAt, priority);
      if (claimant) for (const api of apis) this.claims[api].hold(claimant, priority, at, at + this.claimGraceMs);
      return { retryAt: at };
    }
    if (claimant) for (const api of apis) this.claims[api].release(claimant);
    for (const [api, count] of entries(needs)) this.budgets[api].take(count);
    return new Reservation(this, needs, priority);
  }

  /**
   * The MDE client's scheduling hook. The client calls it once per HTTP request it sends (a resend
   * after a 401 included), so the budget counts exactly what MDE counts. Inside `withReservation`
   * the call uses the request's reservation; outside (a one-off CLI lookup) it waits for a free slot.
   */
  scheduler(): MdeCallScheduler {
    return (call, send) => {
      const reservation = currentReservation.getStore();
      if (reservation) return reservation.call(call.api, send);
      return this.callWhenFree(call.api, send);
    };
  }

  private async callWhenFree<T>(api: MdeApiName, send: () => Promise<T>): Promise<T> {
    for (;;) {
      const now = this.clock.now();
      const at = this.budgets[api].availableAt(now, 1, this.busyRetryMs);
      if (at <= now) break;
      await sleep(at - now);
    }
    this.budgets[api].take(1);
    return this.run(api, 0, send);
  }

  /** MDE answered 429: nobody in this process calls that API again before `until`. */
  pause(api: MdeApiName, until: number): void {
    const budget = this.budgets[api];
    budget.pausedUntil = Math.max(budget.pausedUntil, until);
  }

  /** Calls counted in each window of an API right now (for the CLI and the benchmark). */
  used(api: MdeApiName): number[] {
    return this.budgets[api].used(this.clock.now());
  }

  async stop(): Promise<void> {
    await Promise.all(MDE_APIS.map((api) => this.limiters[api].stop({ dropWaitingJobs: false })));
  }

  /** @internal used by Reservation */
  takeNow(api: MdeApiName, priority: number): void {
    const now = this.clock.now();
    const at = this.budgets[api].availableAt(now, 1, this.busyRetryMs);
    if (at > now) throw new BudgetShortError(api, this.staggered(at, priority));
    this.budgets[api].take(1);
  }

  /** @internal used by Reservation */
  run<T>(api: MdeApiName, priority: number, call: () => Promise<T>): Promise<T> {
    return this.limiters[api].schedule({ priority }, async () => {
      try {
        return await call();
      } finally {
        this.budgets[api].settle(this.clock.now());
      }
    });
  }

  /** @internal used by Reservation */
  refund(api: MdeApiName): void {
    this.budgets[api].refund();
  }

  private availableAt(needs: CallBudget, now: number): number {
    let at = now;
    for (const [api, count] of entries(needs))
      at = Math.max(at, this.budgets[api].availableAt(now, count, this.busyRetryMs));
    return at;
  }

  /**
   * Requests that wait for the same freed budget come back in priority order: each priority step
   * (0 first) lands 1% of the shortest window later. Service Bus delivers in scheduled-time order and
   * has no priorities, so this is what makes high-severity devices go first when the budget is short.
   */
  private staggered(at: number, priority: number): number {
    return at + Math.round((priority * this.shortestWindowMs) / 100);
  }
}

/** Requests refused for lack of budget on one API, each holding its place until served or expired. */
class WaitingClaims {
  constructor(
    /** How long a request waits behind a claim that is due but has not come back yet. */
    private readonly minWaitMs: number,
  ) {}

  private readonly byClaimant = new Map<string, { priority: number; retryAt: number; expiresAt: number }>();

  hold(claimant: string, priority: number, retryAt: number, expiresAt: number): void {
    this.byClaimant.set(claimant, { priority, retryAt, expiresAt });
  }

  release(claimant: string): void {
    this.byClaimant.delete(claimant);
  }

  /** Until when requests that outrank `priority` (a lower number) keep it waiting; `now` when none do. */
  outrankedUntil(priority: number, claimant: string | undefined, now: number): number {
    let until = now;
    for (const [other, claim] of this.byClaimant) {
      if (claim.expiresAt <= now) this.byClaimant.delete(other);
      else if (other !== claimant && claim.priority < priority)
        until = Math.max(until, claim.retryAt, now + this.minWaitMs);
    }
    return until;
  }
}

/** Calls a request has reserved; every call goes through `call`, and `close` gives back the unused. */
export class Reservation {
  private readonly unused = new Map<MdeApiName, number>();

  constructor(
    private readonly throttle: MdeThrottle,
    needs: CallBudget,
    private readonly priority: number,
  ) {
    for (const [api, count] of entries(needs)) this.unused.set(api, count);
  }

  /** Makes one call of `api` in a reserved slot, or in a fresh one (BudgetShortError when none is free). */
  async call<T>(api: MdeApiName, call: () => Promise<T>): Promise<T> {
    const left = this.unused.get(api) ?? 0;
    if (left > 0) this.unused.set(api, left - 1);
    else this.throttle.takeNow(api, this.priority);
    return this.throttle.run(api, this.priority, call);
  }

  close(): void {
    for (const [api, count] of this.unused) for (let i = 0; i < count; i += 1) this.throttle.refund(api);
    this.unused.clear();
  }
}

const currentReservation = new AsyncLocalStorage<Reservation>();

/** Runs `work` so that every MDE call it makes spends `reservation`. */
export function withReservation<T>(reservation: Reservation, work: () => Promise<T>): Promise<T> {
  return currentReservation.run(reservation, work);
}

function entries(needs: CallBudget): [MdeApiName, number][] {
  return (Object.entries(needs) as [MdeApiName, number][]).filter(([, count]) => count > 0);
}
