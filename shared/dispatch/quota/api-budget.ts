/**
 * One API family's budget: a sliding-window log of its calls under every window of MDE_RATE_LIMITS
 * less the headroom, and the pause a 429 imposes on top.
 */
import type { RateWindow } from '../../config';
import type { MdeApiName } from '../../mde/api';
import { SlidingWindowLog, type WindowLimit } from './sliding-window';

/** How many calls of each API family a request may make. */
export type CallBudget = Partial<Record<MdeApiName, number>>;

/** The API families `needs` asks for at least one call of, with the count. */
export function callsPerApi(needs: CallBudget): [MdeApiName, number][] {
  return (Object.entries(needs) as [MdeApiName, number][]).filter(([, count]) => count > 0);
}

/**
 * Windows of MDE_RATE_LIMITS with the headroom taken off; at least one call per window
 * (docs/decisions/0003-quota-headroom.md).
 */
export function effectiveWindows(rateLimits: RateWindow[], headroom: number): WindowLimit[] {
  return rateLimits.map((w) => ({
    limit: Math.max(1, Math.floor(w.count * (1 - headroom))),
    windowMs: w.windowMs,
  }));
}

export class ApiBudget {
  private readonly log: SlidingWindowLog;
  /** Set from a 429's Retry-After: MDE's own view of the quota wins over ours. */
  private pausedUntil = 0;

  constructor(windows: WindowLimit[]) {
    this.log = new SlidingWindowLog(windows);
  }

  /** When call number `position` from now fits, given the calls made and a 429 pause. */
  slotAt(now: number, position: number): number {
    return Math.max(this.pausedUntil, this.log.slotAt(Math.max(now, this.pausedUntil), position));
  }

  /** No call fits before `until`; a shorter pause never shortens a longer one. */
  pauseUntil(until: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, until);
  }

  take(count: number): void {
    this.log.take(count);
  }

  settle(at: number): void {
    this.log.settle(at);
  }

  refund(): void {
    this.log.refund();
  }
}
