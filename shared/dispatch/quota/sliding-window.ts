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
 *
 * Other processes spend the same quota (budget-shares.ts): their calls, as last seen (`shareWith`),
 * count here like this process's own, so its plans leave them their room. A plan is only a plan:
 * every call still takes a slot of the shared budget before it is sent.
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
  /** End times of this process's finished calls within the longest window, oldest first. */
  private readonly own: number[] = [];
  /** End times of other processes' calls, oldest first. */
  private others: readonly number[] = [];
  /** `own` and `others` merged, oldest first; null when either changed. */
  private merged: number[] | null = null;
  private ownInFlight = 0;
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
    const stamps = this.stamps();
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
    const finished = stamps.length;
    const known = finished + this.ownInFlight;
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
          earlier < finished ? stamps[earlier] : earlier < known ? now : slots.get(earlier - known);
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
    this.ownInFlight += count;
  }

  /** A call taken earlier ended at `at`. */
  settle(at: number): void {
    this.ownInFlight -= 1;
    let index = this.own.length;
    while (index > 0 && this.own[index - 1] > at) index -= 1;
    this.own.splice(index, 0, at);
    this.merged = null;
  }

  /** A call taken earlier was never made. */
  refund(): void {
    this.ownInFlight -= 1;
  }

  /** What other processes spent, as last seen: their calls' end times, ascending. */
  shareWith(stamps: readonly number[]): void {
    this.others = stamps;
    this.merged = null;
  }

  /** Calls counting in window `index` at `now`: finished within it, and in flight. */
  callsIn(index: number, now: number): number {
    const windowMs = this.windows[index].windowMs;
    const stamps = this.stamps();
    let inside = 0;
    for (let i = stamps.length - 1; i >= 0 && stamps[i] + windowMs >= now; i -= 1) inside += 1;
    return inside + this.ownInFlight;
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

  /** This process's calls within the longest window at `now`, ascending; those in flight as made now. */
  recent(now: number): number[] {
    this.prune(now);
    return [...this.own, ...Array<number>(this.ownInFlight).fill(now)].sort((a, b) => a - b);
  }

  /** Adds finished calls made elsewhere (another process's, from a checkpoint) as this one's. */
  add(stamps: readonly number[]): void {
    this.own.push(...stamps);
    this.own.sort((a, b) => a - b);
    this.merged = null;
  }

  private limitAt(index: number, now: number): number {
    const cap = this.capAt(index, now);
    return Math.min(cap?.limit ?? Number.POSITIVE_INFINITY, this.windows[index].limit);
  }

  /** Every finished call this log knows, oldest first. */
  private stamps(): readonly number[] {
    if (this.others.length === 0) return this.own;
    this.merged ??= [...this.own, ...this.others].sort((a, b) => a - b);
    return this.merged;
  }

  private prune(now: number): void {
    let expired = 0;
    while (expired < this.own.length && this.own[expired] + this.longestMs < now) expired += 1;
    if (expired > 0) {
      this.own.splice(0, expired);
      this.merged = null;
    }
  }
}
