import { parseRateLimits } from '../../shared/config';
import { Reservation } from '../../shared/dispatch/quota/reservation';
import { MdeThrottle, ThrottleStoppedError } from '../../shared/dispatch/quota/throttle';
import { advanceUntil, handClock } from '../support/hand-clock';

describe('MdeThrottle: a POST waiting for its slot', () => {
  it('is not sent during a 429 pause that began while it waited', async () => {
    const clock = handClock();
    const throttle = new MdeThrottle({ rateLimits: parseRateLimits('2/1000ms'), headroom: 0, clock });
    // Two requests took 500 ms from their reservation to their POST: the lead is 500 ms (its cap).
    const first = throttle.reserve({ isolate: 1 }, 1) as Reservation;
    const second = throttle.reserve({ isolate: 1 }, 1) as Reservation;
    clock.advance(500);
    for (const reservation of [first, second]) {
      await reservation.call('isolate', async () => 'posted');
      reservation.close();
    }
    // 5 ms before the next slot frees, a request starts and its POST waits for the slot.
    clock.advance(1_001 - 5);
    const early = throttle.reserve({ isolate: 1 }, 1);
    expect(early).toBeInstanceOf(Reservation);
    let sentAt: number | undefined;
    const posting = (early as Reservation).call('isolate', async () => {
      sentAt = clock.now();
    });
    // Meanwhile another request's isolate POST met a 429: nobody calls isolate for a minute.
    throttle.pause('isolate', clock.now() + 60_000);
    // The slot comes and goes well past the few turns a POST sent at the slot would take.
    await advanceUntil(clock, () => sentAt !== undefined, 50);
    expect(sentAt).toBeUndefined();
    const refused = expect(posting).rejects.toBeInstanceOf(ThrottleStoppedError);
    await throttle.stop();
    await refused;
    (early as Reservation).close();
  });
});
