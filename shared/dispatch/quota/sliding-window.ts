/**
 * A sliding-window call log for one API: at most `limit` calls in any `windowMs` span, for every
 * window at once (e.g. 100/min and 1,500/h). MDE does not say whether its quotas slide or reset
 * (docs/mde-api.md §4); a sliding log is never more permissive than either, whereas a fixed-interval refill
 * (Bottleneck's reservoir) allows two full bursts across a boundary.
 *
 * A call holds its slot from the moment it is taken; while it is in flight its end is unknown, so it
 * counts as made now and keeps counting. When it ends it is stamped with its end time, which is never
 * earlier than the moment MDE counted it, so the slot frees no earlier than MDE's own window does.
 *
 * A window's limit can be lowered for a while (`cap`): what a 429 taught about the real ceiling.
 */
export interface WindowLimit {
  limit: number;
  windowMs: number;
}

/** A lower limit on one window, in force until `until` (epoch ms). */
export interface WindowCap {
  limit: number;
  until: number;
}

export class SlidingWindowLog {
  /** End times of finished calls within the longest window, oldest first. */
  private readonly stamps: number[] = [];
  private inFlight = 0;
  private readonly longestMs: number;
  /** By window index. */
  private readonly caps: (WindowCap | undefined)[];

  constructor(readonly windows: readonly WindowLimit[]) {
    this.longestMs = Math.max(...windows.map((w) => w.windowMs));
    this.caps = windows.map(() => undefined);
  }

  /**
   * When call number `position` from now (1 = the next one) can be made, if every call before it is
   * made as early as the windows allow. Calls made at those times never exceed any window: for each
   * window, the call `limit` places earlier must have left it (+1 ms: a call stamped at t still counts
   * at exactly t + windowMs in an inclusive window). `kept[index]` calls of window `index` are left
   * to others: this caller sees the window that much smaller (never below one call).
   */
  slotAt(now: number, position: number, kept?: readonly number[]): number {
    this.prune(now);
    if (position < 1) return now;
    // A cap in force now is applied to every future slot, also those after it lifts: a promise that
    // is later than needed, never earlier; asked again after the cap lifts, the answer is exact.
    const limits = this.windows.map((_, index) =>
      Math.max(1, this.limitAt(index, now) - (kept?.[index] ?? 0)),
    );
    // Calls in order: the finished ones, the ones in flight (as made now), then the future ones from
    // here. Future call j waits for the call `limit` places before it in each window; since the times
    // never go down, that is its slot. Only the calls a chain of such steps reaches are computed:
    // a few dozen, where a request refused in a storm asks for position 2,000 or more.
    const finished = this.stamps.length;
    const known = finished + this.inFlight;
    const slots = new Map<number, number>();
    const pending = [position - 1];
    while (pending.length > 0) {
      const call = pending[pending.length - 1];
      let at = now;
      let waiting = false;
      for (const [index, w] of this.windows.entries()) {
        const earlier = known + call - limits[index];
        if (earlier < 0) continue;
        const made =
          earlier < finished ? this.stamps[earlier] : earlier < known ? now : slots.get(earlier - known);
        if (made === undefined) {
          pending.push(earlier - known);
          waiting = true;
        } else at = Math.max(at, made + w.windowMs + 1);
      }
      if (!waiting) {
        slots.set(call, at);
        pending.pop();
      }
    }
    return slots.get(position - 1) as number;
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

  /** Calls counting in window `index` at `now`: finished within it, and in flight. */
  callsIn(index: number, now: number): number {
    const windowMs = this.windows[index].windowMs;
    let inside = 0;
    for (let i = this.stamps.length - 1; i >= 0 && this.stamps[i] + windowMs >= now; i -= 1) inside += 1;
    return inside + this.inFlight;
  }

  /** Calls window `index` still has room for at `now`. */
  left(index: number, now: number): number {
    return Math.max(0, this.limitAt(index, now) - this.callsIn(index, now));
  }

  /** The cap of window `index` in force at `now`, if any. */
  capAt(index: number, now: number): WindowCap | undefined {
    const cap = this.caps[index];
    return cap && now < cap.until ? cap : undefined;
  }

  /** Lowers window `index` to `limit` calls until `until`. */
  cap(index: number, cap: WindowCap): void {
    this.caps[index] = cap;
  }

  /** The calls within the longest window at `now`, ascending; those in flight as made now. */
  recent(now: number): number[] {
    this.prune(now);
    return [...this.stamps, ...Array<number>(this.inFlight).fill(now)].sort((a, b) => a - b);
  }

  /** Adds finished calls made elsewhere (another process's, from a checkpoint). */
  add(stamps: readonly number[]): void {
    this.stamps.push(...stamps);
    this.stamps.sort((a, b) => a - b);
  }

  private limitAt(index: number, now: number): number {
    const cap = this.capAt(index, now);
    return Math.min(cap?.limit ?? Number.POSITIVE_INFINITY, this.windows[index].limit);
  }

  private prune(now: number): void {
    let expired = 0;
    while (expired < this.stamps.length && this.stamps[expired] + this.longestMs < now) expired += 1;
    if (expired > 0) this.stamps.splice(0, expired);
  }
}
