/**
 * The quota-optimal schedule: each call at the earliest moment every window (count per sliding
 * window, as MDE_RATE_LIMITS) allows. With calls due at a_0 ≤ a_1 ≤ …, call k can be no earlier than
 * a_k, nor t_{k-1}, nor t_{k-count} + windowMs for each window; the greedy schedule meets each bound
 * with equality, so no throttle can do better. The storm benchmarks measure the product against it;
 * `whatif --workspace` uses it to say how long the quota would have held isolations back.
 */
import type { RateWindow } from '../../config';

type Windows = readonly Pick<RateWindow, 'count' | 'windowMs'>[];

/** When each call would go out, for calls due at `dueAt` (ascending, ms). */
export function quotaSchedule(dueAt: readonly number[], windows: Windows): number[] {
  const times: number[] = [];
  for (let k = 0; k < dueAt.length; k += 1) {
    let at = k === 0 ? dueAt[0] : Math.max(dueAt[k], times[k - 1]);
    for (const w of windows) if (k >= w.count) at = Math.max(at, times[k - w.count] + w.windowMs);
    times.push(at);
  }
  return times;
}

/** The makespan of `n` calls all due at once: t_{n-1} − t_0. */
export function quotaOptimalSpanMs(n: number, windows: Windows): number {
  if (n <= 1) return 0;
  const times = quotaSchedule(new Array<number>(n).fill(0), windows);
  return times[n - 1] - times[0];
}
