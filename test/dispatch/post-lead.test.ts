import { parseRateLimits } from '../../shared/config';
import { PostLead } from '../../shared/dispatch/quota/post-lead';
import { Reservation } from '../../shared/dispatch/quota/reservation';
import { MdeThrottle, ThrottleStoppedError } from '../../shared/dispatch/quota/throttle';
import { advanceUntil, handClock } from '../support/hand-clock';

describe('PostLead', () => {
  it('is nothing until a request reached its POST, then the upper quartile of recent leads', () => {
    const lead = new PostLead(10_000);
    expect(lead.ms()).toBe(0);
    for (const ms of [100, 200, 300, 400, 500]) lead.observe(ms);
    expect(lead.ms()).toBe(400);
  });

  it('follows the recent leads, forgetting the old ones', () => {
    const lead = new PostLead(10_000);
    for (let i = 0; i < 64; i += 1) lead.observe(5_000);
    for (let i = 0; i < 64; i += 1) lead.observe(50);
    expect(lead.ms()).toBe(50);
  });

  it('never exceeds its cap', () => {
    const lead = new PostLead(300);
    lead.observe(60_000);
    expect(lead.ms()).toBe(300);
  });
});

describe('MdeThrottle: a request starts ahead of its POST slot', () => {
  function setUp() {
    const clock = handClock();
    const throttle = new MdeThrottle({ rateLimits: parseRateLimits('2/10000ms'), headroom: 0, clock });
    return { throttle, advance: clock.advance, clock };
  }

  /** Spends the isolate window: two POSTs ending at the clock's time. */
  async function fillIsolateWindow(throttle: MdeThrottle) {
    for (let i = 0; i < 2; i += 1) {
      const reservation = throttle.reserve({ isolate: 1 }, 1) as Reservation;
      await reservation.call('isolate', async () => 'posted');
      reservation.close();
    }
  }

  it('refuses a request whose POST slot is not free while no lead is known', async () => {
    const { throttle, clock } = setUp();
    await fillIsolateWindow(throttle);
    const filledAt = clock.now();
    const refused = throttle.reserve({ machines: 1, isolate: 1 }, 1) as { retryAt: number };
    // Not a millisecond early: any lead would bring the retry before the slot, a window after the POSTs.
    expect(refused.retryAt).toBeGreaterThan(filledAt + 10_000);
    await throttle.stop();
  });

  it('grants it the learned lead early; its POST waits for the slot, its lookup does not', async () => {
    const { throttle, advance, clock } = setUp();
    // Two requests took 40 ms from their reservation to their POST.
    const first = throttle.reserve({ machines: 1, isolate: 1 }, 1) as Reservation;
    const second = throttle.reserve({ isolate: 1 }, 1) as Reservation;
    await first.call('machines', async () => 'looked up');
    advance(40);
    for (const reservation of [first, second]) {
      await reservation.call('isolate', async () => 'posted');
      reservation.close();
    }
    // The window is full for 10 s after the POSTs; 30 ms before its end, a request starts at once.
    const isolateStamps = () => throttle.checkpoint().find((c) => c.api === 'isolate')?.stamps ?? [];
    const [postedAt] = isolateStamps();
    advance(10_001 - 30);
    const early = throttle.reserve({ machines: 1, isolate: 1 }, 1);
    expect(early).toBeInstanceOf(Reservation);
    const reservation = early as Reservation;
    let lookedUpAt: number | undefined;
    let postedAgainAt: number | undefined;
    await reservation.call('machines', async () => {
      lookedUpAt = clock.now();
    });
    const posting = reservation.call('isolate', async () => {
      postedAgainAt = clock.now();
    });
    await advanceUntil(clock, () => postedAgainAt !== undefined, 1_000);
    await posting;
    reservation.close();
    // The lookup went at once; the POST waited for its slot, a window after the first POST.
    expect(lookedUpAt).toBe(postedAt + 10_001 - 30);
    expect(postedAgainAt).toBeGreaterThan(postedAt + 10_000);
    await throttle.stop();
  });

  it('a POST waiting for its slot gives it back when the throttle stops, and sends nothing', async () => {
    const { throttle, advance } = setUp();
    const first = throttle.reserve({ isolate: 1 }, 1) as Reservation;
    const second = throttle.reserve({ isolate: 1 }, 1) as Reservation;
    advance(5_000);
    for (const reservation of [first, second]) {
      await reservation.call('isolate', async () => 'posted');
      reservation.close();
    }
    // Lead learned: 5 s, half the 10 s window (its cap). The next slot frees 10 s after the POSTs;
    // 4 s before it, a request starts and its POST waits.
    advance(6_000);
    const early = throttle.reserve({ isolate: 1 }, 1) as Reservation;
    expect(early).toBeInstanceOf(Reservation);
    let sent = false;
    const refused = expect(
      early.call('isolate', async () => {
        sent = true;
      }),
    ).rejects.toBeInstanceOf(ThrottleStoppedError);
    await throttle.stop();
    await refused;
    early.close();
    expect(sent).toBe(false);
    expect(throttle.checkpoint().find((c) => c.api === 'isolate')?.stamps).toHaveLength(2);
  });
});
