/**
 * The process-wide MDE budget: for every API family (isolate, unisolate, machines, machineactions) a
 * sliding-window budget (`api-budget.ts`), a waiting line of the requests it refused
 * (`waiting-line.ts`), and a line of the calls that hold a slot (`call-line.ts`).
 *
 * A request reserves every call it will make before it starts ("budget ahead",
 * docs/decisions/0007-bottleneck-and-sliding-window-budget.md). When the budget is short it gets the
 * moment the budget frees instead, and the worker reschedules the message for then, rather than
 * holding a message lock or half-doing a request.
 *
 * Every process that calls MDE with the app's identity spends one budget, in the state store
 * (`share`, shared-budget.ts, docs/decisions/0014-one-budget-across-processes.md): each call takes a
 * slot this process holds there before it is sent, and what the other processes spend counts in this
 * throttle's windows, so its plans leave them their room.
 */
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RateWindow } from '../../config';
import { type Clock, systemClock } from '../../kernel/clock';
import { MDE_APIS, type MdeApiName } from '../../mde/api';
import type { MdeCallScheduler } from '../../mde/client';
import { ceilingRecord, type DispatchReporter } from '../outcome';
import { PRIORITY } from '../request';
import { ApiBudget, type CallBudget, callsPerApi, effectiveWindows, type LearnedCeiling } from './api-budget';
import { CallLine } from './call-line';
import { currentReservation } from './current-reservation';
import { PostLead } from './post-lead';
import { BudgetShortError, Reservation, type ReservedBudget } from './reservation';
import { SharedBudget, type ShareOptions } from './shared-budget';
import { WaitingLine } from './waiting-line';

export interface ThrottleOptions {
  rateLimits: RateWindow[];
  headroom: number;
  clock?: Clock;
  /** Calls in flight per API at once. */
  maxConcurrent?: number;
  /** The budget shared with every other process through the state store; none: this process alone. */
  share?: ShareOptions;
}

/** The throttle's view of one API at a moment: end times of this process's recent calls and a 429 pause. */
export interface QuotaCheckpoint {
  api: MdeApiName;
  /** Epoch ms, ascending. */
  stamps: number[];
  pausedUntil: number;
}

/**
 * The API families whose call is the last a request makes (its POST): the request may start the
 * learned lead (`PostLead`) before their slot frees.
 */
const POSTED_LAST: ReadonlySet<MdeApiName> = new Set(['isolate', 'unisolate']);

/**
 * The share of each machineactions window tracking leaves to the pre-POST checks while isolations
 * may still come (`keptFrom`). Batched, a check serves many isolations, so half the window (50 a
 * minute, 750 an hour at MDE's quota) covers a storm's checks; the other half is more than one status
 * list per poll cycle needs.
 */
export const CHECKS_SHARE = 0.5;

/** One window of one API's quota as this process sees it now (the shared budget's spend included). */
export interface QuotaUse {
  api: MdeApiName;
  /** The window's length as the setting gives it, in seconds (`60s`, `3600s`), or ms below a second. */
  window: string;
  used: number;
  free: number;
}

/** What the throttle tells those who subscribe (`subscribe`). */
export interface ThrottleListener {
  /** A call of `api` ended, answered or not: its slot now counts with its end time. */
  callEnded?(api: MdeApiName): void;
  /** A 429 taught `api` a lower ceiling on one window, in force until the window turns over. */
  learned?(api: MdeApiName, ceiling: LearnedCeiling): void;
  /**
   * Budget the waiting requests' slots counted as spent came free (a slot given back unused, a place
   * in a waiting line left without being served): some may start before the time they were given.
   */
  freed?(): void;
}

/** Requests in the waiting lines that may start now, and when the next one may (`startable`). */
export interface Startable {
  claimants: string[];
  /** Epoch ms; infinity when nobody else waits. */
  next: number;
}

/** Reports each ceiling a 429 taught as a `quota-ceiling-learned` note (subscribe it to a throttle). */
export function noteLearnedCeilings(reporter: Pick<DispatchReporter, 'note'>): ThrottleListener {
  return {
    learned: (api, ceiling) =>
      reporter.note('warn', { event: 'quota-ceiling-learned', ...ceilingRecord(api, ceiling) }),
  };
}

/** The throttle was stopped (the runtime closed) while a call waited for a slot: it was never sent. */
export class ThrottleStoppedError extends Error {
  constructor() {
    super('the MDE throttle was stopped before this call had a free slot; nothing was sent');
    this.name = 'ThrottleStoppedError';
  }
}

export class MdeThrottle {
  readonly clock: Clock;
  private readonly listeners = new Set<ThrottleListener>();
  private readonly budgets: Record<MdeApiName, ApiBudget>;
  /** The quota's windows as the setting gives them, by index (the budgets' are stretched by the headroom). */
  private readonly windowLabels: string[];
  private readonly lines: Record<MdeApiName, WaitingLine>;
  /**
   * The next arrival in the waiting lines: one numbering for all of them, so a request stands in
   * the same order in each line it waits in (waiting-line.ts).
   */
  private arrivals = 0;
  private readonly calls: CallLine;
  private readonly holdMs: number;
  private readonly postLead: PostLead;
  private readonly stopping = new AbortController();
  private readonly shared: SharedBudget | null;
  /** Settles once the previous process's spend is counted (`holdUntil`). */
  private restored: Promise<void> = Promise.resolve();
  /** What every reservation of this throttle spends from. */
  private readonly reserved: ReservedBudget = {
    takeNow: (api, priority) => {
      const now = this.clock.now();
      const at = this.budgets[api].slotAt(now, 1, this.keptFrom(api, priority, now));
      if (at > now) throw new BudgetShortError(api, at);
      this.budgets[api].take(1);
    },
    run: (api, priority, call) => this.run(api, priority, call),
    refund: (api) => {
      this.budgets[api].refund();
      this.freed();
    },
    slotReached: (api, slotAt, reservedAt) => {
      if (POSTED_LAST.has(api)) this.postLead.observe(this.clock.now() - reservedAt);
      return this.slotAndPauseReached(api, slotAt);
    },
  };

  constructor(options: ThrottleOptions) {
    this.clock = options.clock ?? systemClock;
    const windows = effectiveWindows(options.rateLimits, options.headroom);
    this.windowLabels = options.rateLimits.map(({ windowMs }) =>
      windowMs % 1000 === 0 ? `${windowMs / 1000}s` : `${windowMs}ms`,
    );
    // A waiting request that does not come back this long after its slot (it was dead-lettered, or
    // the process lost it) stops holding back the requests behind it.
    this.holdMs = 2 * Math.min(...windows.map((w) => w.windowMs));
    // Every call waiting for its slot listens for the stop: in a storm, dozens at once.
    setMaxListeners(0, this.stopping.signal);
    // Below every window, so a slot granted ahead always waits on calls that have ended (and whose
    // end, no earlier than MDE counted them, is known), never on one still in flight.
    this.postLead = new PostLead(Math.floor(Math.min(...windows.map((w) => w.windowMs)) / 2));
    const budgets = {} as Record<MdeApiName, ApiBudget>;
    const lines = {} as Record<MdeApiName, WaitingLine>;
    for (const api of MDE_APIS) {
      budgets[api] = new ApiBudget(windows);
      lines[api] = new WaitingLine();
    }
    this.budgets = budgets;
    this.lines = lines;
    this.calls = new CallLine(options.maxConcurrent ?? 4);
    this.shared = options.share
      ? new SharedBudget(
          options.share,
          windows,
          this.clock,
          (at) => this.sleepUntil(at),
          (api, { others, pausedUntil }) => {
            // The slots others hold, as calls made now: they come back at their holder's next sync,
            // which this process sees at its own next one.
            const now = this.clock.now();
            this.budgets[api].shareWith(
              [...others.stamps, ...Array<number>(others.held).fill(now)].sort((a, b) => a - b),
            );
            this.budgets[api].pauseUntil(pausedUntil);
          },
        )
      : null;
  }

  /**
   * Reads what every other process, running or ended, spent of the shared budget (a restarted
   * worker's predecessor included): nothing when the budget is this process's alone.
   */
  refreshShares(): Promise<void> {
    return this.shared?.refresh() ?? Promise.resolve();
  }

  /**
   * Takes every call in `needs` now, or answers when they will fit. A refused request (`claimant`,
   * its request id) gets a place in a waiting line per API, ordered by priority then arrival, and the
   * answer is the slot of that place: requests come back one slot apart instead of all at once, and
   * freed budget goes to high severity first whatever order the queue delivers in, so a tracking poll
   * never takes the call an isolation needs.
   *
   * A request's POST (POSTED_LAST) may be reserved before its slot frees, by the time requests lately
   * took to reach their POST (`PostLead`): the request starts now, its lookup and check run
   * meanwhile, and the POST waits for its slot
   * (`Reservation.call`). Each slot still counts from the moment it is taken, so no window ever holds
   * more calls than its limit; what the lead saves is the time a slot would otherwise stand free
   * while its request looks the device up.
   */
  reserve(needs: CallBudget, priority: number, claimant?: string): Reservation | { retryAt: number } {
    const now = this.clock.now();
    // The request's turn in every line: that of a place it holds in any, else after all who wait.
    const arrival = (claimant === undefined ? undefined : this.arrivalOf(claimant, now)) ?? this.arrivals;
    const slots = new Map<MdeApiName, number>();
    /** When each API lets the request start. */
    const due = new Map<MdeApiName, number>();
    for (const [api, count] of callsPerApi(needs)) {
      const ahead = this.lines[api].callsAhead(priority, arrival, claimant, now);
      const slot = this.slotFor(api, ahead + count, priority, now);
      if (POSTED_LAST.has(api)) slots.set(api, slot);
      due.set(api, this.startFor(api, slot));
    }
    const retryAt = Math.max(now, ...due.values());
    if (retryAt > now) {
      if (claimant) {
        if (arrival === this.arrivals) this.arrivals += 1;
        // A place only in the lines of the APIs that are short: a request waiting for the isolate
        // quota must not stand ahead of tracking's reads in a machineactions window that has room.
        const short = callsPerApi(needs).filter(([api]) => (due.get(api) ?? now) > now);
        this.placeIn(claimant, needs, {
          calls: new Map(short),
          priority,
          arrival,
          expiresAt: retryAt + this.holdMs,
        });
      }
      return { retryAt };
    }
    if (claimant) this.placeIn(claimant, needs, null);
    for (const [api, count] of callsPerApi(needs)) this.budgets[api].take(count);
    return new Reservation(this.reserved, needs, priority, slots, now);
  }

  /**
   * Puts `claimant` in the line of each API it waits for (`wait.calls`: its calls there; none once
   * served) and out of every other line, also that of an API it no longer needs (a machine cached
   * since it was refused), whose place would otherwise hold slots for nobody until it expired: then
   * the requests behind it move up.
   */
  private placeIn(
    claimant: string,
    needs: CallBudget,
    wait: {
      calls: ReadonlyMap<MdeApiName, number>;
      priority: number;
      arrival: number;
      expiresAt: number;
    } | null,
  ): void {
    let unneededLeft = false;
    for (const api of MDE_APIS) {
      const count = wait?.calls.get(api);
      if (wait && count !== undefined)
        this.lines[api].hold(claimant, wait.priority, count, wait.arrival, wait.expiresAt);
      else if (this.lines[api].leave(claimant) && !((needs[api] ?? 0) > 0)) unneededLeft = true;
    }
    if (unneededLeft) this.freed();
  }

  /** When `claimant` first waited, of the places it holds at `now`; none held: undefined. */
  private arrivalOf(claimant: string, now: number): number | undefined {
    let arrival: number | undefined;
    for (const api of MDE_APIS) {
      const held = this.lines[api].arrivalOf(claimant, now);
      if (held !== undefined) arrival = Math.min(arrival ?? held, held);
    }
    return arrival;
  }

  /**
   * `claimant` will not come back for its places (its request ended, or waits for something other
   * than budget): the requests behind it move up.
   */
  forget(claimant: string): void {
    let held = false;
    for (const api of MDE_APIS) held = this.lines[api].leave(claimant) || held;
    if (held) this.freed();
  }

  /**
   * The waiting requests `reserve` would serve now, by the same slots it gives (each line walked in
   * order until the first place that must wait), and when the first of those that must wait may
   * start: what brings a deferred request forward when budget frees before its time
   * (dispatch/deferred-requests.ts). A request waiting in several lines may start when every one
   * of them lets it.
   */
  startable(): Startable {
    const now = this.clock.now();
    /** Per claimant: whether every line it waits in lets it start now. */
    const free = new Map<string, boolean>();
    let next = Number.POSITIVE_INFINITY;
    for (const api of MDE_APIS) {
      let ahead = 0;
      let blocked = false;
      for (const place of this.lines[api].inOrder(now)) {
        if (!blocked) {
          ahead += place.count;
          const at = this.startFor(api, this.slotFor(api, ahead, place.priority, now));
          if (at > now) {
            blocked = true;
            next = Math.min(next, at);
          }
        }
        free.set(place.claimant, !blocked && (free.get(place.claimant) ?? true));
      }
    }
    const claimants = [...free].filter(([, startsNow]) => startsNow).map(([claimant]) => claimant);
    return { claimants, next };
  }

  /**
   * Whether a call of `api` would wait for budget now: a request holds a place in its line, or its
   * window is full. Then requests reaching their call meanwhile are no later for waiting together.
   */
  contended(api: MdeApiName): boolean {
    const now = this.clock.now();
    return this.lines[api].occupied(now) || this.budgets[api].slotAt(now, 1) > now;
  }

  /**
   * Whether `api` is contended and a call of it could still be granted within `ms`: only then can a
   * request holding none reach its call meanwhile. At the end of a burst's window the next slot is
   * most of a window away, and whoever reached their call already is all the company there will be.
   */
  contendedFreeingWithin(api: MdeApiName, ms: number): boolean {
    const now = this.clock.now();
    return this.contended(api) && this.budgets[api].slotAt(now, 1) <= now + ms;
  }

  /** When the `position`-th call of `api` from now fits, for a request of `priority`. */
  private slotFor(api: MdeApiName, position: number, priority: number, now: number): number {
    return this.budgets[api].slotAt(now, position, this.keptFrom(api, priority, now));
  }

  /** When a request whose call of `api` has `slot` may start: its POST's by the learned lead sooner. */
  private startFor(api: MdeApiName, slot: number): number {
    return POSTED_LAST.has(api) ? slot - this.postLead.ms() : slot;
  }

  private freed(): void {
    for (const listener of this.listeners) listener.freed?.();
  }

  /**
   * The budget split: the machineactions calls per window (by index) that tracking (`priority` of
   * PRIORITY.tracking or lower) leaves for the pre-POST checks of isolations still to come. Those
   * are at most the isolations the isolate window still has room for, and never more than
   * CHECKS_SHARE of the window, so tracking always keeps the rest. Without it, polls arriving while
   * the budget is free take it all and the isolations of a storm that follow wait for the window.
   */
  private keptFrom(api: MdeApiName, priority: number, now: number): number[] | undefined {
    if (api !== 'machineactions' || priority < PRIORITY.tracking) return undefined;
    const isolationsLeft = this.budgets.isolate.left(now);
    return this.budgets.machineactions
      .limits()
      .map((limit, index) => Math.min(Math.floor(limit * CHECKS_SHARE), isolationsLeft[index]));
  }

  /**
   * The MDE client's scheduling hook. The client calls it once per HTTP request it sends (a resend
   * after a 401 included), so the budget counts exactly what MDE counts. Inside `withReservation`
   * (`current-reservation.ts`) the call spends the request's reservation; outside (a one-off CLI
   * lookup) it waits for a free slot.
   */
  scheduler(): MdeCallScheduler {
    return (call, send) => {
      const reservation = currentReservation();
      if (reservation) return reservation.call(call.api, send);
      return this.restored.then(() => this.callWhenFree(call.api, send));
    };
  }

  /**
   * Calls made outside a reservation (a CLI lookup) wait until `restoring` settles: the quota ledger
   * read at start, so they never spend from windows that do not yet hold what the previous process
   * spent. Reservations are only taken after it (the runtime waits for it before handling requests).
   */
  holdUntil(restoring: Promise<void>): void {
    this.restored = restoring.catch(() => undefined);
  }

  /**
   * MDE answered 429: nobody in this process calls that API again before `until` (its Retry-After),
   * and the window MDE found full is capped at the calls this app has in it until it turns over
   * (`ApiBudget.rateLimited`); subscribers hear what was learned.
   */
  pause(api: MdeApiName, until: number): void {
    this.shared?.pause(api, until);
    for (const ceiling of this.budgets[api].rateLimited(this.clock.now(), until))
      for (const listener of this.listeners) listener.learned?.(api, ceiling);
  }

  /** The ceilings learned from 429s that are in force now, per API. */
  learnedCeilings(): { api: MdeApiName; ceiling: LearnedCeiling }[] {
    const now = this.clock.now();
    return MDE_APIS.flatMap((api) => this.budgets[api].ceilings(now).map((ceiling) => ({ api, ceiling })));
  }

  /**
   * Each API window's calls spent and left now, against the window's limit (a ceiling a 429 taught
   * lowers what is left); what the quota gauges show.
   */
  usage(): QuotaUse[] {
    const now = this.clock.now();
    return MDE_APIS.flatMap((api) => {
      const left = this.budgets[api].left(now);
      return this.budgets[api].limits().map((limit, index) => ({
        api,
        window: this.windowLabels[index],
        used: Math.max(0, limit - left[index]),
        free: left[index],
      }));
    });
  }

  /** Calls `listener` on every event until the answer is called. */
  subscribe(listener: ThrottleListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every API's calls that still count now (those in flight as made now) and its 429 pause. */
  checkpoint(): QuotaCheckpoint[] {
    const now = this.clock.now();
    return MDE_APIS.map((api) => ({ api, ...this.budgets[api].checkpoint(now) }));
  }

  /**
   * Counts the calls of a checkpoint (a previous process's) as made by this throttle. An API this
   * version does not know (a checkpoint written by another version) has no budget here to count in.
   */
  restore(checkpoints: readonly QuotaCheckpoint[]): void {
    for (const { api, stamps, pausedUntil } of checkpoints)
      if (MDE_APIS.includes(api)) this.budgets[api].restore(stamps, pausedUntil);
  }

  /**
   * Calls waiting for a free slot are refused (ThrottleStoppedError); calls already sent end; the
   * slots held in the shared budget go back.
   */
  async stop(): Promise<void> {
    this.stopping.abort(new ThrottleStoppedError());
    await this.calls.stop();
    await this.shared?.stop();
  }

  /** Resolves at `at` on this throttle's clock; rejects with ThrottleStoppedError once stopped. */
  private async sleepUntil(at: number): Promise<void> {
    // Until the clock says so: a timer may fire a millisecond before the clock has moved on.
    for (let wait = at - this.clock.now(); wait > 0; wait = at - this.clock.now())
      await sleep(wait, undefined, { signal: this.stopping.signal }).catch(() => {
        throw new ThrottleStoppedError();
      });
  }

  /**
   * Resolves once `slotAt` has come and no 429 pause of `api` is in force: a pause that began while
   * the call waited holds it too (`pause`), which its slot, computed before, does not know.
   */
  private async slotAndPauseReached(api: MdeApiName, slotAt: number): Promise<void> {
    const ready = () => Math.max(slotAt, this.budgets[api].pauseEnd());
    for (let at = ready(); at > this.clock.now(); at = ready()) await this.sleepUntil(at);
  }

  private async callWhenFree<T>(api: MdeApiName, send: () => Promise<T>): Promise<T> {
    for (;;) {
      const now = this.clock.now();
      const at = this.budgets[api].slotAt(now, 1);
      if (at <= now) break;
      // A slot may be an hour away: a stopped runtime must not keep the process alive that long.
      await this.sleepUntil(at);
    }
    this.budgets[api].take(1);
    return this.run(api, 0, send);
  }

  /**
   * Runs a call whose slot is taken, once it holds a slot of the shared budget too (a call that gets
   * none is never sent and its slot goes back); the slot is stamped with the moment the call ends.
   */
  private run<T>(api: MdeApiName, priority: number, call: () => Promise<T>): Promise<T> {
    return this.calls.run(api, priority, async () => {
      try {
        await this.shared?.acquire(api);
      } catch (error) {
        this.budgets[api].refund();
        throw error;
      }
      try {
        return await call();
      } finally {
        const at = this.clock.now();
        this.budgets[api].settle(at);
        this.shared?.ended(api, at);
        for (const listener of this.listeners) listener.callEnded?.(api);
      }
    });
  }
}
