/**
 * `npm run bench -- quota`: what the headroom costs, the budget alone. For 1,500, 2,000 and 3,000 calls
 * of one API under MDE's documented quota (100/min, 1,500/h), the time from the first to the last call
 * when each is made as soon as the throttle's budget allows (a hand-moved clock: nothing waits), over
 * the quota-optimal time without headroom (shared/dispatch/quota/optimum.ts). Beside it, the same for the former
 * headroom, a cut of every window's count (95/min and 1,425/h at 5 %), which is a step at the hour.
 * The storm benchmark shows the same through the whole pipeline, where other APIs may bind first.
 */
import { parseRateLimits, type RateWindow } from '../../shared/config';
import { ApiBudget, effectiveWindows } from '../../shared/dispatch/quota/api-budget';
import { quotaOptimalSpanMs } from '../../shared/dispatch/quota/optimum';
import type { WindowLimit } from '../../shared/dispatch/quota/sliding-window';

const RATE_LIMITS = parseRateLimits('100/60s,1500/1h');
const CALLS = [1_500, 2_000, 3_000];
const HEADROOMS = [0, 0.05, 0.2];

/** Time from the first to the last of `calls` calls of one API, each made as soon as its budget allows. */
export function greedySpanMs(calls: number, windows: WindowLimit[]): number {
  const budget = new ApiBudget(windows);
  let now = 0;
  for (let i = 0; i < calls; i += 1) {
    now = budget.slotAt(now, 1);
    budget.take(1);
    budget.settle(now);
  }
  return now;
}

/** The former headroom: every window's count cut by the fraction. */
function cutWindows(rateLimits: RateWindow[], headroom: number): WindowLimit[] {
  return rateLimits.map((w) => ({
    limit: Math.max(1, Math.floor(w.count * (1 - headroom))),
    windowMs: w.windowMs,
  }));
}

const minutes = (ms: number) => `${(ms / 60_000).toFixed(1)} min`;

export async function run(): Promise<void> {
  const lines = [
    'quota: calls of one API at 100/min and 1,500/h; makespan (ratio to the quota-optimal without headroom)',
  ];
  for (const calls of CALLS) {
    const optimum = quotaOptimalSpanMs(calls, RATE_LIMITS);
    const cells = [`  ${String(calls).padStart(5)} calls: optimum ${minutes(optimum)}`];
    for (const headroom of HEADROOMS) {
      const span = greedySpanMs(calls, effectiveWindows(RATE_LIMITS, headroom));
      cells.push(`h=${headroom} ${minutes(span)} (×${(span / optimum).toFixed(3)})`);
    }
    for (const headroom of HEADROOMS.filter((h) => h > 0)) {
      const span = greedySpanMs(calls, cutWindows(RATE_LIMITS, headroom));
      cells.push(`former cut h=${headroom} ${minutes(span)} (×${(span / optimum).toFixed(3)})`);
    }
    lines.push(cells.join('; '));
  }
  process.stdout.write(`${lines.join('\n')}\n\n`);
}
