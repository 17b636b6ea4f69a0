import fc from 'fast-check';
import {
  compressTiming,
  DEFAULT_TIMING,
  trackingPollDelayMs,
  transientRetryDelayMs,
} from '../../shared/dispatch/timing';
import { jitteredBackoffMs } from '../../shared/kernel/backoff';

describe('jittered exponential backoff', () => {
  it('doubles per attempt between half and all of the step, capped', () => {
    expect(jitteredBackoffMs(1, 1000, 60_000, () => 0)).toBe(500);
    expect(jitteredBackoffMs(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(jitteredBackoffMs(3, 1000, 60_000, () => 0)).toBe(2000);
    expect(jitteredBackoffMs(20, 1000, 60_000, () => 1)).toBe(60_000);
  });

  it('never waits less than half the step nor more than the cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (attempt, r) => {
          const delay = transientRetryDelayMs(attempt, DEFAULT_TIMING, () => r);
          const step = Math.min(
            DEFAULT_TIMING.transientMaxMs,
            DEFAULT_TIMING.transientBaseMs * 2 ** (attempt - 1),
          );
          return delay >= step / 2 - 1 && delay <= DEFAULT_TIMING.transientMaxMs;
        },
      ),
    );
  });
});

describe('tracking poll schedule', () => {
  it('starts at seconds and stretches to hours only while the action waits for an offline device', () => {
    const first = trackingPollDelayMs(0, null, DEFAULT_TIMING, () => 1);
    expect(first).toBe(DEFAULT_TIMING.trackFirstPollMs);
    expect(trackingPollDelayMs(30, 'InProgress', DEFAULT_TIMING, () => 1)).toBe(
      DEFAULT_TIMING.trackMaxInProgressMs,
    );
    expect(trackingPollDelayMs(30, 'Pending', DEFAULT_TIMING, () => 1)).toBe(3_600_000);
  });

  it('compresses every delay but keeps the attempt count', () => {
    const fast = compressTiming(0.001);
    expect(fast.trackGiveUpMs).toBe(Math.round(DEFAULT_TIMING.trackGiveUpMs / 1000));
    expect(fast.transientMaxAttempts).toBe(DEFAULT_TIMING.transientMaxAttempts);
    expect(compressTiming(0.000001).transientBaseMs).toBe(1);
  });
});
