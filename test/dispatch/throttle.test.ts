import { parseRateLimits } from '../../shared/config';
import { type CallBudget, effectiveWindows } from '../../shared/dispatch/quota/api-budget';
import { withReservation } from '../../shared/dispatch/quota/current-reservation';
import { quotaOptimalSpanMs } from '../../shared/dispatch/quota/optimum';
import { BudgetShortError, Reservation } from '../../shared/dispatch/quota/reservation';
import { CHECKS_SHARE, MdeThrottle, noteLearnedCeilings } from '../../shared/dispatch/quota/throttle';
import { PRIORITY } from '../../shared/dispatch/request';
import type { MdeApiName } from '../../shared/mde/api';
import { greedySpanMs } from '../bench/quota';
import { timerTurns } from '../support/timer-turns';

function throttleAt(clock: { now: () => number }, limits = '5/1000ms', headroom = 0) {
  return new MdeThrottle({ rateLimits: parseRateLimits(limits), headroom, clock });
}

describe('MdeThrottle', () => {
  it('stretches every window by the headroom, keeping its count', () => {
    // The headroom no longer cuts counts (95/min and 1,425/h at 5 %, which left the last devices of a
    // 1,500-device storm for the next hour): each window lasts 1 / (1 − headroom) longer instead.
    expect(effectiveWindows(parseRateLimits('100/60s,1500/1h'), 0.05)).toEqual([
      { limit: 100, windowMs: 63_158 },
      { limit: 1500, windowMs: 3_789_474 },
    ]);
    expect(effectiveWindows(parseRateLimits('100/60s,1500/1h'), 0)).toEqual([
      { limit: 100, windowMs: 60_000 },
      { limit: 1500, windowMs: 3_600_000 },
    ]);
    expect(effectiveWindows(parseRateLimits('1/1s'), 0.4)[0].limit).toBe(1);
  });

  it('costs no more than the fraction the headroom names, on either side of the long window', () => {
    const limits = '100/600ms,1500/36s';
    const headroom = 0.05;
    for (const calls of [1_425, 1_500, 1_501, 2_000, 3_000]) {
      const optimum = quotaOptimalSpanMs(calls, parseRateLimits(limits));
      const span = greedySpanMs(calls, effectiveWindows(parseRateLimits(limits), headroom));
      // Each wait (one per burst of 100) adds up to 2 ms: the stretched window rounded up to whole ms,
      // and 1 ms because a call stamped at t still counts at exactly t + windowMs.
      expect(span).toBeLessThanOrEqual(optimum / (1 - headroom) + (2 * calls) / 100);
      expect(span).toBeGreaterThanOrEqual(optimum);
    }
  });

  it('reserves all calls of a request at once, or answers when they fit', async () => {
    const now = 1_000;
    const throttle = throttleAt({ now: () => now }, '2/1000ms');
    const first = throttle.reserve({ machines: 1, isolate: 1 }, 1);
    expect(first).toBeInstanceOf(Reservation);
    const reservation = first as Reservation;
    await reservation.call('machines', async () => 'looked up');
    await reservation.call('isolate', async () => 'posted');
    reservation.close();
    const second = throttle.reserve({ machines: 1 }, 1) as Reservation;
    await second.call('machines', async () => 'again');
    second.close();
    // machines used twice at t=1000: the third call waits for the first to leave the window.
    expect(throttle.reserve({ machines: 1, isolate: 1 }, 0)).toEqual({ retryAt: 2001 });
    await throttle.stop();
  });

  it('gives back reserved calls that were never made', () => {
    const throttle = throttleAt({ now: () => 0 }, '1/1000ms');
    const reservation = throttle.reserve({ isolate: 1 }, 1) as Reservation;
    expect(throttle.reserve({ isolate: 1 }, 1)).not.toBeInstanceOf(Reservation);
    reservation.close();
    expect(throttle.reserve({ isolate: 1 }, 1)).toBeInstanceOf(Reservation);
  });

  it('gives waiting requests one slot each, by priority then arrival', () => {
    const throttle = throttleAt({ now: () => 0 }, '1/1000ms');
    throttle.reserve({ isolate: 1 }, 1);
    const low = throttle.reserve({ isolate: 1 }, 5, 'low') as { retryAt: number };
    const high = throttle.reserve({ isolate: 1 }, 1, 'high') as { retryAt: number };
    const second = throttle.reserve({ isolate: 1 }, 1, 'high-2') as { retryAt: number };
    // The low one asked first, but the two high ones take the next slots.
    expect(high.retryAt).toBeLessThan(second.retryAt);
    expect(second.retryAt).toBeLessThan(
      (throttle.reserve({ isolate: 1 }, 5, 'low') as { retryAt: number }).retryAt,
    );
    expect(low.retryAt).toBeGreaterThan(0);
  });

  it('keeps freed budget for a refused request of higher priority until it comes back', async () => {
    let now = 0;
    const throttle = throttleAt({ now: () => now }, '1/1000ms');
    const first = throttle.reserve({ machineactions: 1 }, 3, 'first') as Reservation;
    await first.call('machineactions', async () => 'checked');
    first.close();
    const high = throttle.reserve({ machineactions: 1 }, 1, 'isolation') as { retryAt: number };
    now = high.retryAt;
    // A tracking poll arriving first is sent back: the slot belongs to the waiting isolation.
    expect(throttle.reserve({ machineactions: 1 }, 8, 'tracking')).not.toBeInstanceOf(Reservation);
    const served = throttle.reserve({ machineactions: 1 }, 1, 'isolation') as Reservation;
    expect(served).toBeInstanceOf(Reservation);
    await served.call('machineactions', async () => 'checked');
    now += 2_000;
    expect(throttle.reserve({ machineactions: 1 }, 8, 'tracking')).toBeInstanceOf(Reservation);
  });

  it('holds a waiting place only in the lines of the APIs that were short', async () => {
    const throttle = throttleAt({ now: () => 0 }, '2/1000ms');
    for (let i = 0; i < 2; i += 1) {
      const posted = throttle.reserve({ isolate: 1 }, 1) as Reservation;
      await posted.call('isolate', async () => 'posted');
      posted.close();
    }
    // Isolations of a storm wait for the isolate window; machineactions has room for two calls.
    for (let i = 0; i < 5; i += 1)
      expect(
        throttle.reserve({ machines: 1, machineactions: 1, isolate: 1 }, 1, `isolation-${i}`),
      ).not.toBeInstanceOf(Reservation);
    // Tracking's status list is not sent behind five checks that cannot come before the isolate slot.
    const list = throttle.reserve({ machineactions: 1 }, PRIORITY.tracking, 'status-list');
    expect(list).toBeInstanceOf(Reservation);
    (list as Reservation).close();
    await throttle.stop();
  });

  it('keeps one order in every line, so free slots of two APIs go to one request that may start', async () => {
    let now = 0;
    const throttle = throttleAt({ now: () => now }, '1/1000ms');
    const spend = async (needs: CallBudget, at: number) => {
      now = at;
      const reservation = throttle.reserve(needs, 1) as Reservation;
      for (const api of Object.keys(needs) as MdeApiName[]) await reservation.call(api, async () => 'sent');
      reservation.close();
    };
    await spend({ machines: 1 }, 0);
    await spend({ isolate: 1 }, 600);
    // `first` is refused for the isolate window alone (machines has room): a place in that line only.
    now = 1_001;
    expect(throttle.reserve({ machines: 1, isolate: 1 }, 1, 'first')).toEqual({ retryAt: 1_601 });
    await spend({ machines: 1 }, 1_001);
    // `second` waits for both windows, behind `first` for the isolate slot.
    now = 1_002;
    expect(throttle.reserve({ machines: 1, isolate: 1 }, 1, 'second')).toEqual({ retryAt: 2_602 });
    // `first` asks again, now short of both: it comes before `second` in the machines line too.
    now = 1_003;
    expect(throttle.reserve({ machines: 1, isolate: 1 }, 1, 'first')).toEqual({ retryAt: 2_002 });
    // Both windows have a free slot: it goes to `first`, never left unused while both wait (the
    // storm's last hour-window slots, which left its tail for the window after: issue 27).
    now = 2_002;
    expect(throttle.startable()).toEqual({ claimants: ['first'], next: 3_003 });
    expect(throttle.reserve({ machines: 1, isolate: 1 }, 1, 'first')).toBeInstanceOf(Reservation);
    await throttle.stop();
  });

  it('takes a request served without a call it once waited for out of that line', async () => {
    let now = 0;
    const throttle = throttleAt({ now: () => now }, '1/1000ms');
    let freed = 0;
    throttle.subscribe({ freed: () => (freed += 1) });
    const first = throttle.reserve({ machines: 1, isolate: 1 }, 1) as Reservation;
    await first.call('machines', async () => 'looked up');
    await first.call('isolate', async () => 'posted');
    first.close();
    now = 10;
    expect(throttle.reserve({ machines: 1, isolate: 1 }, 1, 'cached')).toEqual({ retryAt: 1_001 });
    expect(throttle.reserve({ machines: 1 }, 1, 'other')).toEqual({ retryAt: 2_002 });
    // Another request looked the device up meanwhile: `cached` comes back needing no lookup.
    now = 1_001;
    expect(throttle.reserve({ isolate: 1 }, 1, 'cached')).toBeInstanceOf(Reservation);
    // Its place in the machines line no longer holds the free lookup slot for nobody.
    expect(freed).toBe(1);
    expect(throttle.startable().claimants).toEqual(['other']);
    expect(throttle.reserve({ machines: 1 }, 1, 'other')).toBeInstanceOf(Reservation);
    await throttle.stop();
  });

  it('throws BudgetShortError for an unplanned call without budget', async () => {
    const throttle = throttleAt({ now: () => 0 }, '1/1000ms');
    const reservation = throttle.reserve({ machines: 1 }, 1) as Reservation;
    await reservation.call('machines', async () => 1);
    await expect(reservation.call('machines', async () => 2)).rejects.toThrow(BudgetShortError);
  });

  it('stops every caller of an API after a 429 until Retry-After', () => {
    const throttle = throttleAt({ now: () => 0 });
    throttle.pause('isolate', 5_000);
    expect(throttle.reserve({ isolate: 1 }, 0)).toEqual({ retryAt: 5_000 });
    expect(throttle.reserve({ machines: 1 }, 0)).toBeInstanceOf(Reservation);
  });

  it('keeps the longer of two 429 pauses', () => {
    const throttle = throttleAt({ now: () => 0 });
    throttle.pause('isolate', 5_000);
    throttle.pause('isolate', 2_000);
    expect(throttle.reserve({ isolate: 1 }, 0)).toEqual({ retryAt: 5_000 });
  });

  it('routes the MDE client hook through the current reservation', async () => {
    const throttle = throttleAt({ now: () => 0 }, '1/1000ms');
    const schedule = throttle.scheduler();
    const reservation = throttle.reserve({ machineactions: 1 }, 1) as Reservation;
    const call = {
      api: 'machineactions' as const,
      operation: 'getMachineAction' as const,
      method: 'GET' as const,
    };
    await withReservation(reservation, () => schedule(call, async () => 'ok'));
    // The reserved call was used, so a second one inside the same reservation finds no budget.
    await expect(withReservation(reservation, () => schedule(call, async () => 'again'))).rejects.toThrow(
      BudgetShortError,
    );
    await throttle.stop();
  });

  it('queues calls through Bottleneck by priority when the concurrency is taken', async () => {
    const throttle = new MdeThrottle({
      rateLimits: parseRateLimits('100/1000ms'),
      headroom: 0,
      maxConcurrent: 1,
    });
    const order: string[] = [];
    let release: () => void = () => undefined;
    // Bottleneck starts a job asynchronously: wait until the blocker holds the only slot, or under
    // load `release` could still be the no-op when it is called and the test would hang.
    let started: () => void = () => undefined;
    const running = new Promise<void>((resolve) => (started = resolve));
    const blocker = throttle.reserve({ machines: 1 }, 5) as Reservation;
    const held = blocker.call(
      'machines',
      () =>
        new Promise<void>((resolve) => {
          release = resolve;
          started();
        }),
    );
    await running;
    const low = (throttle.reserve({ machines: 1 }, 7) as Reservation).call('machines', async () =>
      order.push('low'),
    );
    const high = (throttle.reserve({ machines: 1 }, 1) as Reservation).call('machines', async () =>
      order.push('high'),
    );
    // Both wait in Bottleneck's line before the blocker ends, whatever the load.
    await timerTurns(50);
    release();
    await Promise.all([held, low, high]);
    expect(order).toEqual(['high', 'low']);
    await throttle.stop();
  });
});

describe('MdeThrottle after a 429', () => {
  /** `count` isolate calls at the clock's time, through the throttle's real call line. */
  async function spend(throttle: MdeThrottle, count: number): Promise<void> {
    const reservation = throttle.reserve({ isolate: count }, 1) as Reservation;
    for (let i = 0; i < count; i += 1) await reservation.call('isolate', async () => 'posted');
  }

  it('caps the fullest window at the calls made in it until the window turns over', async () => {
    let now = 0;
    const throttle = throttleAt({ now: () => now }, '5/1000ms,20/10000ms');
    const heard: unknown[] = [];
    throttle.subscribe({ learned: (api, ceiling) => heard.push({ api, ...ceiling }) });
    await spend(throttle, 3);
    now = 10;
    // Someone else spent the rest: the third call was answered 429, Retry-After 90 ms.
    throttle.pause('isolate', 100);
    const learned = { windowMs: 1000, limit: 5, learned: 3, until: 1010 };
    expect(heard).toEqual([{ api: 'isolate', ...learned }]);
    expect(throttle.learnedCeilings()).toEqual([{ api: 'isolate', ceiling: learned }]);
    now = 100;
    // Without the lesson two more calls would fit now; with it, the next waits for the first to leave.
    expect(throttle.reserve({ isolate: 1 }, 1)).toEqual({ retryAt: 1001 });
    expect(throttle.reserve({ machines: 1 }, 1)).toBeInstanceOf(Reservation);
    now = 1010;
    expect(throttle.learnedCeilings()).toEqual([]);
    expect(throttle.reserve({ isolate: 5 }, 1)).toBeInstanceOf(Reservation);
    await throttle.stop();
  });

  it('learns nothing from a 429 during the pause; a later one caps the next window', async () => {
    let now = 0;
    const throttle = throttleAt({ now: () => now }, '5/1000ms,20/10000ms');
    await spend(throttle, 4);
    throttle.pause('isolate', 100);
    now = 50;
    // A call sent before the pause was known: the same news.
    throttle.pause('isolate', 150);
    expect(throttle.learnedCeilings().map((c) => c.ceiling.windowMs)).toEqual([1000]);
    now = 200;
    // The minute-like window was not the one: with it capped, the next 429 caps the longer window.
    throttle.pause('isolate', 300);
    expect(throttle.learnedCeilings()).toEqual([
      { api: 'isolate', ceiling: { windowMs: 1000, limit: 5, learned: 4, until: 1000 } },
      { api: 'isolate', ceiling: { windowMs: 10_000, limit: 20, learned: 4, until: 10_200 } },
    ]);
    now = 300;
    // A third, with every window capped, lowers each to the calls in it now.
    throttle.pause('isolate', 400);
    expect(throttle.learnedCeilings().map((c) => c.ceiling.learned)).toEqual([4, 4]);
    await throttle.stop();
  });

  it('reports each ceiling learned as a note', () => {
    const throttle = throttleAt({ now: () => 0 }, '5/1000ms');
    const notes: unknown[] = [];
    throttle.subscribe(noteLearnedCeilings({ note: (level, record) => notes.push({ level, ...record }) }));
    throttle.pause('machineactions', 100);
    expect(notes).toEqual([
      {
        level: 'warn',
        event: 'quota-ceiling-learned',
        api: 'machineactions',
        windowMs: 1000,
        limit: 5,
        learned: 1,
        until: '1970-01-01T00:00:01.000Z',
      },
    ]);
  });

  it('keeps at least one call per window, so the API is tried again after the pause', () => {
    let now = 0;
    const throttle = throttleAt({ now: () => now }, '5/1000ms');
    throttle.pause('isolate', 100);
    expect(throttle.learnedCeilings()[0].ceiling.learned).toBe(1);
    now = 100;
    expect(throttle.reserve({ isolate: 1 }, 1)).toBeInstanceOf(Reservation);
    expect(throttle.reserve({ isolate: 1 }, 1)).not.toBeInstanceOf(Reservation);
    // The window has turned over since the 429: its own limit again.
    now = 1_000;
    expect(throttle.reserve({ isolate: 4 }, 1)).toBeInstanceOf(Reservation);
  });
});

describe('the machineactions budget split', () => {
  /** Takes `count` calls of `needs` at `priority`, each made at once; answers how many were granted. */
  async function spend(
    throttle: MdeThrottle,
    needs: Record<string, number>,
    priority: number,
    count: number,
  ) {
    let granted = 0;
    for (let i = 0; i < count; i += 1) {
      const reservation = throttle.reserve(needs, priority);
      if (!(reservation instanceof Reservation)) break;
      for (const [api, n] of Object.entries(needs))
        for (let k = 0; k < n; k += 1) await reservation.call(api as 'machineactions', async () => undefined);
      reservation.close();
      granted += 1;
    }
    return granted;
  }

  it('keeps a share of each window from tracking for the checks of isolations still to come', async () => {
    const throttle = throttleAt({ now: () => 0 }, '10/60s,40/1h');
    // Tracking gets half of the minute window, then waits although the window has room left ...
    expect(await spend(throttle, { machineactions: 1 }, PRIORITY.tracking, 10)).toBe(10 * CHECKS_SHARE);
    expect(throttle.reserve({ machineactions: 1 }, PRIORITY.tracking)).toEqual({ retryAt: 60_001 });
    // ... which the pre-POST checks of isolations still get.
    expect(await spend(throttle, { machineactions: 1, isolate: 1 }, PRIORITY.low, 10)).toBe(5);
    await throttle.stop();
  });

  it('keeps nothing once the isolate window has no room for another isolation', async () => {
    const throttle = throttleAt({ now: () => 0 }, '10/60s');
    expect(await spend(throttle, { isolate: 1 }, PRIORITY.high, 10)).toBe(10);
    expect(await spend(throttle, { machineactions: 1 }, PRIORITY.tracking, 10)).toBe(10);
    await throttle.stop();
  });

  it('keeps no more than the isolations the isolate window still has room for', async () => {
    const throttle = throttleAt({ now: () => 0 }, '10/60s');
    expect(await spend(throttle, { isolate: 1 }, PRIORITY.high, 8)).toBe(8);
    // Two isolations may still come: tracking leaves two checks for them.
    expect(await spend(throttle, { machineactions: 1 }, PRIORITY.tracking, 10)).toBe(8);
    await throttle.stop();
  });

  it('applies the split to a call beyond the reserved ones (a further page of a tracking list)', async () => {
    const throttle = throttleAt({ now: () => 0 }, '4/60s');
    const reservation = throttle.reserve({ machineactions: 1 }, PRIORITY.tracking) as Reservation;
    await reservation.call('machineactions', async () => 'page 1');
    await reservation.call('machineactions', async () => 'page 2');
    await expect(reservation.call('machineactions', async () => 'page 3')).rejects.toBeInstanceOf(
      BudgetShortError,
    );
    reservation.close();
    await throttle.stop();
  });
});
