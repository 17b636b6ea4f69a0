import { parseRateLimits } from '../../shared/config';
import { quotaOptimalSpanMs } from '../bench/quota-optimum';

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
