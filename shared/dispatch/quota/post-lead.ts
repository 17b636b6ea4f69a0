/**
 * How long a request takes from its reservation to its POST (its lookup and pre-POST check), learned
 * from the requests that got there: the throttle lets a request start that long before its POST's
 * slot frees (`MdeThrottle.reserve`), so in a storm the POST goes out as the slot frees. A quantile
 * above the median, since a POST that gets there late leaves its slot unused for the difference while
 * one that gets there early only waits; the recent requests only, since the lead follows the load
 * (a busy state store, a gathering check).
 */

/** Leads remembered: enough for a stable quantile, few enough to follow a change within a minute. */
const REMEMBERED = 64;
/** The share of recent requests whose POST is ready by the lead. */
const QUANTILE = 0.75;

export class PostLead {
  private readonly recent: number[] = [];
  private next = 0;
  private current = 0;

  /** Never more than `maxMs`: a lead is only safe below the shortest quota window (throttle.ts). */
  constructor(private readonly maxMs: number) {}

  /** A request reached its POST `ms` after its reservation. */
  observe(ms: number): void {
    if (this.recent.length < REMEMBERED) this.recent.push(ms);
    else this.recent[this.next] = ms;
    this.next = (this.next + 1) % REMEMBERED;
    const sorted = [...this.recent].sort((a, b) => a - b);
    this.current = Math.min(this.maxMs, sorted[Math.floor(QUANTILE * (sorted.length - 1))]);
  }

  /** How long before its POST's slot a request may start now. */
  ms(): number {
    return this.current;
  }
}
