/**
 * MDE's per-API quotas (docs/mde-api.md §4) as sliding windows: a call is admitted when, in every window,
 * fewer than `count` calls were admitted during the last `windowMs`. Refused calls are not counted,
 * so `Retry-After` is exact: the moment the oldest call in the full window leaves it.
 */
import type { RateWindow } from '../shared/config';

export type QuotaVerdict = { admitted: true } | { admitted: false; retryAfterMs: number; window: RateWindow };

export class SlidingWindowQuota {
  /** Admission times, oldest first. */
  private readonly admitted: number[] = [];
  private readonly longestMs: number;

  constructor(private readonly windows: readonly RateWindow[]) {
    this.longestMs = Math.max(...windows.map((w) => w.windowMs));
  }

  tryAdmit(nowMs: number): QuotaVerdict {
    while (this.admitted.length > 0 && this.admitted[0] <= nowMs - this.longestMs) this.admitted.shift();
    let refusal: QuotaVerdict = { admitted: true };
    for (const window of this.windows) {
      const from = nowMs - window.windowMs;
      const inWindow = this.admitted.filter((t) => t > from);
      if (inWindow.length < window.count) continue;
      // The call is admitted again once enough of the calls in this window have aged out of it.
      const retryAfterMs = inWindow[inWindow.length - window.count] + window.windowMs - nowMs;
      if (!refusal.admitted && refusal.retryAfterMs >= retryAfterMs) continue;
      refusal = { admitted: false, retryAfterMs: Math.max(1, retryAfterMs), window };
    }
    if (refusal.admitted) this.admitted.push(nowMs);
    return refusal;
  }

  /** Calls admitted within the last `windowMs`. */
  usedIn(windowMs: number, nowMs: number): number {
    return this.admitted.filter((t) => t > nowMs - windowMs).length;
  }
}
