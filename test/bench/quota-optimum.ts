/**
 * The quota-optimal makespan, the yardstick of the storm benchmark: the shortest time in which `n`
 * calls fit under every window (count per sliding window, as MDE_RATE_LIMITS). The greedy schedule,
 * each call at the earliest moment every window allows, is optimal: with calls at t_0 ≤ t_1 ≤ …, call
 * k can be no earlier than t_{k-count} + windowMs for each window, nor earlier than t_{k-1}, and the
 * greedy schedule meets each bound with equality. The makespan is t_{n-1} − t_0.
 */
import type { RateWindow } from '../../shared/config';

export function quotaOptimalSpanMs(
  n: number,
  windows: readonly Pick<RateWindow, 'count' | 'windowMs'>[],
): number {
  if (n <= 1) return 0;
  const times: number[] = [];
  for (let k = 0; k < n; k += 1) {
    let at = k === 0 ? 0 : times[k - 1];
    for (const w of windows) if (k >= w.count) at = Math.max(at, times[k - w.count] + w.windowMs);
    times.push(at);
  }
  return times[n - 1] - times[0];
}
