/**
 * Requests refused for lack of budget on one API, in line until served or gone: ordered by priority
 * (a lower number first), then by arrival. The throttle gives each the slot of its place, so requests
 * come back one slot apart and freed budget goes to the most severe first.
 *
 * The arrival is the throttle's, one numbering for every API's line: a request waiting in two lines
 * stands in the same order in both, so the first of those waiting may start as soon as each of its
 * APIs has a slot, and no slot is left unused while each line saves it for a different request.
 */
export class WaitingLine {
  private readonly byClaimant = new Map<string, Place>();

  /** Gives `claimant` a place, or updates the one it holds, with its current priority and count. */
  hold(claimant: string, priority: number, count: number, arrival: number, expiresAt: number): void {
    this.byClaimant.set(claimant, { claimant, priority, count, arrival, expiresAt });
  }

  /** The arrival of `claimant`'s place at `now`, if it holds one. */
  arrivalOf(claimant: string, now: number): number | undefined {
    const place = this.byClaimant.get(claimant);
    return place && place.expiresAt > now ? place.arrival : undefined;
  }

  /** True when `claimant` had a place. */
  leave(claimant: string): boolean {
    return this.byClaimant.delete(claimant);
  }

  /**
   * Calls of requests ahead of one of `priority` that arrived at `arrival` (`claimant`, if it has a
   * name): higher priority (a lower number), or the same and arrived earlier.
   */
  callsAhead(priority: number, arrival: number, claimant: string | undefined, now: number): number {
    let ahead = 0;
    // Asked on every reservation with thousands waiting in a storm: values() spares an entry array
    // per place.
    for (const place of this.byClaimant.values()) {
      if (place.expiresAt <= now) this.byClaimant.delete(place.claimant);
      else if (
        place.claimant !== claimant &&
        (place.priority < priority || (place.priority === priority && place.arrival < arrival))
      )
        ahead += place.count;
    }
    return ahead;
  }

  /** The places held at `now`, first in line first. */
  inOrder(now: number): readonly Place[] {
    for (const place of this.byClaimant.values())
      if (place.expiresAt <= now) this.byClaimant.delete(place.claimant);
    return [...this.byClaimant.values()].sort((a, b) => a.priority - b.priority || a.arrival - b.arrival);
  }

  /** Whether anyone holds a place at `now`. */
  occupied(now: number): boolean {
    for (const place of this.byClaimant.values()) if (place.expiresAt > now) return true;
    return false;
  }
}

export interface Place {
  claimant: string;
  priority: number;
  count: number;
  arrival: number;
  expiresAt: number;
}
