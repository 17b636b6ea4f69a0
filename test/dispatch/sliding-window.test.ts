import fc from 'fast-check';
import { SlidingWindowLog } from '../../shared/dispatch/sliding-window';

describe('SlidingWindowLog', () => {
  it('refuses the burst a fixed-interval refill would allow across the boundary', () => {
    const log = new SlidingWindowLog(3, 1000);
    for (const t of [900, 950, 990]) {
      expect(log.availableAt(t, 1)).toBe(t);
      log.take(1);
      log.settle(t);
    }
    // A fixed window resetting at 1000 would admit three more here; a sliding one waits for 900 to age out.
    expect(log.availableAt(1001, 1)).toBe(1901);
    expect(log.availableAt(1001, 2)).toBe(1951);
  });

  it('blocks on calls in flight, whose end is not known yet', () => {
    const log = new SlidingWindowLog(1, 1000);
    log.take(1);
    expect(log.availableAt(0, 1)).toBeNull();
    log.refund();
    expect(log.availableAt(0, 1)).toBe(0);
  });

  it('never lets more than the limit into any window, whatever the call pattern', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 10, max: 200 }),
        fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 80 }),
        (limit, windowMs, gaps) => {
          const log = new SlidingWindowLog(limit, windowMs);
          const admitted: number[] = [];
          let now = 0;
          for (const gap of gaps) {
            now += gap;
            const at = log.availableAt(now, 1);
            if (at === null) return false;
            now = Math.max(now, at);
            log.take(1);
            log.settle(now);
            admitted.push(now);
          }
          // MDE's view: any span [t - windowMs, t] holds at most `limit` calls.
          return admitted.every((t) => admitted.filter((u) => u >= t - windowMs && u <= t).length <= limit);
        },
      ),
    );
  });
});
