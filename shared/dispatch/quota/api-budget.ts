/**
 * One API family's budget: a sliding-window log of its calls under every window of MDE_RATE_LIMITS
 * (stretched by the headroom), the pause a 429 imposes on top, and what a 429 teaches about the real
 * ceiling.
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
 * Windows of MDE_RATE_LIMITS with the headroom applied: each keeps its count and lasts longer by
 * 1 / (1 − headroom), so this app spends at most 1 − headroom of the quota's rate over time, and any
 * number of calls takes at most 1 / (1 − headroom) of the time the full quota allows, with no step at
 * a window's count (docs/decisions/0009-headroom-as-a-share-of-the-rate.md).
 */
export function effectiveWindows(rateLimits: RateWindow[], headroom: number): WindowLimit[] {
  return rateLimits.map((w) => ({ limit: w.count, windowMs: Math.ceil(w.windowMs / (1 - headroom)) }));
}

/** What a 429 taught about one window: the calls this app had in it were the real ceiling. */
export interface LearnedCeiling {
  windowMs: number;
  /** The window's own limit. */
  limit: number;
  /** The limit in force instead, until `until` (epoch ms): when the window has turned over. */
  learned: number;
  until: number;
}

export class ApiBudget {
  private readonly log: SlidingWindowLog;
  /** Set from a 429's Retry-After: MDE's own view of the quota wins over ours. */
  private pausedUntil = 0;

  constructor(windows: WindowLimit[]) {
    this.log = new SlidingWindowLog(windows);
  }

  /**
   * When call number `position` from now fits, given the calls made and a 429 pause; `kept` calls of
   * each window (by index) are left to others.
   */
  slotAt(now: number, position: number, kept?: readonly number[]): number {
    return Math.max(this.pausedUntil, this.log.slotAt(Math.max(now, this.pausedUntil), position, kept));
  }

  /** Calls each window (by index) still has room for at `now`. */
  left(now: number): number[] {
    return this.log.windows.map((_, index) => this.log.left(index, now));
  }

  /** The limit of each window (by index). */
  limits(): number[] {
    return this.log.windows.map((w) => w.limit);
  }

  /** When the 429 pause in force ends (0: none was). */
  pauseEnd(): number {
    return this.pausedUntil;
  }

  /** No call fits before `until`; a shorter pause never shortens a longer one. */
  pauseUntil(until: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, until);
  }

  /**
   * MDE answered 429 at `now`, to come back at `until`. Besides the pause, a 429 that is news (not the
   * answer to a call sent before a pause already in force) caps one window at the calls this app has
   * in it, until that window has turned over: someone else spends the rest. Which window MDE counted
   * is not said, so the fullest one not capped yet, relative to its limit (the shorter on a tie); a
   * wrong guess costs one more 429. With every window capped, each is lowered to its calls now.
   * Answers the ceilings learned.
   */
  rateLimited(now: number, until: number): LearnedCeiling[] {
    const news = now >= this.pausedUntil;
    this.pauseUntil(until);
    if (!news) return [];
    const windows = this.log.windows;
    const indexes = windows.map((_, index) => index);
    const uncapped = indexes.filter((index) => !this.log.capAt(index, now));
    const fullness = (index: number) => this.log.callsIn(index, now) / windows[index].limit;
    const fullest = uncapped.sort(
      (a, b) => fullness(b) - fullness(a) || windows[a].windowMs - windows[b].windowMs,
    )[0];
    return (fullest === undefined ? indexes : [fullest]).map((index) => {
      const w = windows[index];
      const learned = Math.min(
        this.log.capAt(index, now)?.limit ?? w.limit,
        Math.max(1, this.log.callsIn(index, now)),
      );
      const until = now + w.windowMs;
      this.log.cap(index, { limit: learned, until });
      return { windowMs: w.windowMs, limit: w.limit, learned, until };
    });
  }

  /** The ceilings learned from 429s still in force at `now`. */
  ceilings(now: number): LearnedCeiling[] {
    return this.log.windows.flatMap((w, index) => {
      const cap = this.log.capAt(index, now);
      return cap ? [{ windowMs: w.windowMs, limit: w.limit, learned: cap.limit, until: cap.until }] : [];
    });
  }

  take(count: number): void {
    this.log.take(count);
  }

  /** What other processes spent of this API, as last seen (shared-budget.ts). */
  shareWith(stamps: readonly number[]): void {
    this.log.shareWith(stamps);
  }

  settle(at: number): void {
    this.log.settle(at);
  }

  refund(): void {
    this.log.refund();
  }

  /** The calls that still count at `now` (those in flight as made now) and the pause. */
  checkpoint(now: number): { stamps: number[]; pausedUntil: number } {
    return { stamps: this.log.recent(now), pausedUntil: this.pausedUntil };
  }

  /** Counts calls another process made (its checkpoint) as made here. */
  restore(stamps: readonly number[], pausedUntil: number): void {
    this.log.add(stamps);
    this.pauseUntil(pausedUntil);
  }
}
