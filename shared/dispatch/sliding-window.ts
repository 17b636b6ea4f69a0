/**
 * A sliding-window log: at most `limit` calls in any `windowMs` span. MDE does not say whether its
 * quotas slide or reset (mde-api.md §4); a sliding log is never more permissive than either, whereas
 * a fixed-interval refill (Bottleneck's reservoir) allows two full bursts across a boundary.
 *
 * A call holds its slot from the moment it is taken; while it is in flight its end is unknown, so it
 * blocks the window. When it ends it is stamped with its end time, which is never earlier than the
 * moment MDE counted it, so the slot frees no earlier than MDE's own window does.
 */
export class SlidingWindowLog {
  /** End times of finished calls, oldest first. */
  private readonly stamps: number[] = [];
  private inFlight = 0;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  /** Earliest time at which `count` more calls fit; null when calls in flight decide it. */
  availableAt(now: number, count: number): number | null {
    this.prune(now);
    const excess = this.stamps.length + this.inFlight + count - this.limit;
    if (excess <= 0) return now;
    if (excess > this.stamps.length) return null;
    // +1: a call stamped at t is still counted at exactly t + windowMs by an inclusive window.
    return this.stamps[excess - 1] + this.windowMs + 1;
  }

  take(count: number): void {
    this.inFlight += count;
  }

  /** A call taken earlier ended at `at`. */
  settle(at: number): void {
    this.inFlight -= 1;
    let index = this.stamps.length;
    while (index > 0 && this.stamps[index - 1] > at) index -= 1;
    this.stamps.splice(index, 0, at);
  }

  /** A call taken earlier was never made. */
  refund(): void {
    this.inFlight -= 1;
  }

  used(now: number): number {
    this.prune(now);
    return this.stamps.length + this.inFlight;
  }

  private prune(now: number): void {
    let expired = 0;
    while (expired < this.stamps.length && this.stamps[expired] + this.windowMs < now) expired += 1;
    if (expired > 0) this.stamps.splice(0, expired);
  }
}
