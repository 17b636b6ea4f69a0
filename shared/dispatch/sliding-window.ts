/**
 * A sliding-window call log for one API: at most `limit` calls in any `windowMs` span, for every
 * window at once (e.g. 100/min and 1,500/h). MDE does not say whether its quotas slide or reset
 * (mde-api.md §4); a sliding log is never more permissive than either, whereas a fixed-interval refill
 * (Bottleneck's reservoir) allows two full bursts across a boundary.
 *
 * A call holds its slot from the moment it is taken; while it is in flight its end is unknown, so it
 * counts as made now and keeps counting. When it ends it is stamped with its end time, which is never
 * earlier than the moment MDE counted it, so the slot frees no earlier than MDE's own window does.
 */
export interface WindowLimit {
  limit: number;
  windowMs: number;
}

export class SlidingWindowLog {
  /** End times of finished calls within the longest window, oldest first. */
  private readonly stamps: number[] = [];
  private inFlight = 0;
  private scratch = new Float64Array(0);
  private readonly longestMs: number;
  private readonly largestLimit: number;

  constructor(readonly windows: readonly WindowLimit[]) {
    this.longestMs = Math.max(...windows.map((w) => w.windowMs));
    this.largestLimit = Math.max(...windows.map((w) => w.limit));
  }

  /**
   * When call number `position` from now (1 = the next one) can be made, if every call before it is
   * made as early as the windows allow. Calls made at those times never exceed any window: for each
   * window, the call `limit` places earlier must have left it (+1 ms: a call stamped at t still counts
   * at exactly t + windowMs in an inclusive window).
   */
  slotAt(now: number, position: number): number {
    this.prune(now);
    // Only the last `limit` calls of a window decide the next slot. Built in a reused buffer: a busy
    // worker asks this for thousands of positions per request refused, many times a second.
    const past = Math.min(this.stamps.length, this.largestLimit);
    const times = this.scratchFor(past + this.inFlight + position);
    let count = 0;
    for (let i = this.stamps.length - past; i < this.stamps.length; i += 1) times[count++] = this.stamps[i];
    for (let i = 0; i < this.inFlight; i += 1) times[count++] = now;
    let at = now;
    for (let call = 0; call < position; call += 1) {
      for (const w of this.windows)
        if (count >= w.limit) at = Math.max(at, times[count - w.limit] + w.windowMs + 1);
      times[count++] = at;
    }
    return at;
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

  private scratchFor(size: number): Float64Array {
    if (this.scratch.length < size) this.scratch = new Float64Array(Math.max(size, 2 * this.scratch.length));
    return this.scratch;
  }

  private prune(now: number): void {
    let expired = 0;
    while (expired < this.stamps.length && this.stamps[expired] + this.longestMs < now) expired += 1;
    if (expired > 0) this.stamps.splice(0, expired);
  }
}
