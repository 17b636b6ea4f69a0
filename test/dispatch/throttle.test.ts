import { parseRateLimits } from '../../shared/config';
import { effectiveWindows } from '../../shared/dispatch/quota/api-budget';
import { withReservation } from '../../shared/dispatch/quota/current-reservation';
import { BudgetShortError, Reservation } from '../../shared/dispatch/quota/reservation';
import { MdeThrottle } from '../../shared/dispatch/quota/throttle';

function throttleAt(clock: { now: () => number }, limits = '5/1000ms', headroom = 0) {
  return new MdeThrottle({ rateLimits: parseRateLimits(limits), headroom, clock });
}

describe('MdeThrottle', () => {
  it('takes the headroom off every window, keeping at least one call', () => {
    expect(effectiveWindows(parseRateLimits('100/60s,1500/1h'), 0.05)).toEqual([
      { limit: 95, windowMs: 60_000 },
      { limit: 1425, windowMs: 3_600_000 },
    ]);
    expect(effectiveWindows(parseRateLimits('1/1s'), 0.4)[0].limit).toBe(1);
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
    await new Promise((resolve) => setTimeout(resolve, 10));
    release();
    await Promise.all([held, low, high]);
    expect(order).toEqual(['high', 'low']);
    await throttle.stop();
  });
});
