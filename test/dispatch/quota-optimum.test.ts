import { parseRateLimits } from '../../shared/config';
import { quotaOptimalSpanMs, quotaSchedule } from '../../shared/dispatch/quota/optimum';

describe('quota-optimal makespan (benchmark yardstick)', () => {
  it('is full bursts one window apart for a single window', () => {
    expect(quotaOptimalSpanMs(1, parseRateLimits('100/60s'))).toBe(0);
    expect(quotaOptimalSpanMs(100, parseRateLimits('100/60s'))).toBe(0);
    expect(quotaOptimalSpanMs(101, parseRateLimits('100/60s'))).toBe(60_000);
    expect(quotaOptimalSpanMs(250, parseRateLimits('100/60s'))).toBe(120_000);
  });

  it('waits for the long window once its count is used up', () => {
    // 1,500 calls in 15 bursts (0 … 8.4 s), then the 1,501st when the first burst leaves the 36 s window.
    expect(quotaOptimalSpanMs(1_500, parseRateLimits('100/600ms,1500/36s'))).toBe(8_400);
    expect(quotaOptimalSpanMs(2_000, parseRateLimits('100/600ms,1500/36s'))).toBe(38_400);
  });
});

describe('quota-optimal schedule of calls due over time', () => {
  it('sends each call when due, unless a window is full: then when its oldest call leaves it', () => {
    const windows = parseRateLimits('2/60s');
    // The third call, due at 10 s, waits for the first (0 s) to leave the minute; the fourth for the second.
    expect(quotaSchedule([0, 5_000, 10_000, 11_000, 200_000], windows)).toEqual([
      0, 5_000, 60_000, 65_000, 200_000,
    ]);
  });

  it('never sends a call before the one due ahead of it', () => {
    expect(quotaSchedule([0, 0, 0], parseRateLimits('1/1s'))).toEqual([0, 1_000, 2_000]);
    expect(quotaSchedule([], parseRateLimits('1/1s'))).toEqual([]);
  });
});
