/**
 * The process-wide MDE budget: for every API family (isolate, unisolate, machines, machineactions)
 * each window of MDE_RATE_LIMITS, minus the headroom, as a sliding-window log, plus a Bottleneck
 * limiter that lines the calls by priority and caps how many run at once.
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
import { SlidingWindowLog, type WindowLimit } from './sliding-window';

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
export function effectiveWindows(rateLimits: RateWindow[], headroom: number): WindowLimit[] {
  return rateLimits.map((w) => ({
    limit: Math.max(1, Math.floor(w.count * (1 - headroom))),
    windowMs: w.windowMs,
  }));
}

class ApiBudget {
  private readonly log: SlidingWindowLog;
  /** Set from a 429's Retry-After: MDE's own view of the quota wins over ours. */
  pausedUntil = 0;

  constructor(windows: WindowLimit[]) {
    this.log = new SlidingWindowLog(windows);
  }

  /** When call number `position` from now fits, given the calls made and a 429 pause. */
  slotAt(now: number, position: number): number {
    return Math.max(this.pausedUntil, this.log.slotAt(Math.max(now, this.pausedUntil), position));
  }

  take(count: number): void {
    this.log.take(count);
  }

  settle(at: number): void {
    this.log.settle(at);
  }

  refund(): void {
    this.log.refund();
  }
}

export interface ThrottleOptions {
  rateLimits: RateWindow[];
  headroom: number;
  clock?: Clock;
  /** Calls in flight per API at once. */
  maxConcurrent?: number;
}

export class MdeThrottle {
  readonly clock: Clock;
  private readonly budgets: Record<MdeApiName, ApiBudget>;
  private readonly limiters: Record<MdeApiName, Bottleneck>;
  private readonly lines: Record<MdeApiName, WaitingLine>;
  private readonly holdMs: number;

  constructor(options: ThrottleOptions) {
    this.clock = options.clock ?? systemClock;
    const windows = effectiveWindows(options.rateLimits, options.headroom);
    // A waiting request that does not come back this long after its slot (it was dead-lettered, or
    // the process lost it) stops holding back the requests behind it.
    this.holdMs = 2 * Math.min(...windows.map((w) => w.windowMs));
    const budgets = {} as Record<MdeApiName, ApiBudget>;
    const limiters = {} as Record<MdeApiName, Bottleneck>;
    const lines = {} as Record<MdeApiName, WaitingLine>;
    for (const api of MDE_APIS) {
      budgets[api] = new ApiBudget(windows);
      limiters[api] = new Bottleneck({ maxConcurrent: options.maxConcurrent ?? 4 });
      lines[api] = new WaitingLine();
    }
    this.budgets = budgets;
    this.limiters = limiters;
    this.lines = lines;
  }

  /**
   * Takes every call in `needs` now, or answers when they will fit. A refused request (`claimant`,
   * its request id) gets a place in a waiting line per API, ordered by priority then arrival, and the
   * answer is the slot of that place: requests come back one slot apart instead of all at once, and
   * freed budget goes to high severity first whatever order the queue delivers in, so a tracking poll
   * never takes the call an isolation needs.
   */
  reserve(needs: CallBudget, priority: number, claimant?: string): Reservation | { retryAt: number } {
    const now = this.clock.now();
    let retryAt = now;
    for (const [api, count] of entries(needs)) {
      const ahead = this.lines[api].callsAhead(priority, claimant, now);
      retryAt = Math.max(retryAt, this.budgets[api].slotAt(now, ahead + count));
    }
    if (retryAt > now) {
      if (claimant)
        for (const [api, count] of entries(needs))
          this.lines[api].hold(claimant, priority, count, retryAt + this.holdMs);
      return { retryAt };
    }
    for (const [api, count] of entries(needs)) {
      if (claimant) this.lines[api].leave(claimant);
      this.budgets[api].take(count);
    }
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
      const at = this.budgets[api].slotAt(now, 1);
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

  async stop(): Promise<void> {
    await Promise.all(MDE_APIS.map((api) => this.limiters[api].stop({ dropWaitingJobs: false })));
  }

  /** @internal used by Reservation: one more call than reserved, only if it fits right now. */
  takeNow(api: MdeApiName): void {
    const now = this.clock.now();
    const at = this.budgets[api].slotAt(now, 1);
    if (at > now) throw new BudgetShortError(api, at);
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
}

/** Requests refused for lack of budget on one API, in line until served or gone. */
class WaitingLine {
  private readonly byClaimant = new Map<string, Place>();
  private arrivals = 0;

  hold(claimant: string, priority: number, count: number, expiresAt: number): void {
    const arrival = this.byClaimant.get(claimant)?.arrival ?? this.arrivals++;
    this.byClaimant.set(claimant, { claimant, priority, count, arrival, expiresAt });
  }

  leave(claimant: string): void {
    this.byClaimant.delete(claimant);
  }

  /** Calls of requests ahead of this one: higher priority (a lower number), or same and waiting longer. */
  callsAhead(priority: number, claimant: string | undefined, now: number): number {
    const own = claimant ? this.byClaimant.get(claimant)?.arrival : undefined;
    const arrival = own ?? Number.POSITIVE_INFINITY;
    let ahead = 0;
    // Asked on every reservation with thousands waiting in a storm: values() spares an entry array
    // per place.
    for (const place of this.byClaimant.values()) {
      if (place.expiresAt <= now) this.byClaimant.delete(place.claimant);
      else if (
        place.claimant !== claimant &&
        (place.priority < priority || (place.priority === priority && place.arrival < arrival))
      )
        ahead += place.count;
    }
    return ahead;
  }
}

interface Place {
  claimant: string;
  priority: number;
  count: number;
  arrival: number;
  expiresAt: number;
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
    else this.throttle.takeNow(api);
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
