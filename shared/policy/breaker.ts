/**
 * The blast-radius breaker: at most `limit` automatic isolations per rolling window. A false positive
 * that matches a whole fleet stops after `limit` devices instead of taking the company offline.
 * Once open it stays open for a full window (or until an operator resets it), so a storm that keeps
 * coming is not let through again piecemeal as old isolations age out.
 *
 * It counts isolations, not attempts: a slot is reserved before the POST and committed only when MDE
 * accepted the isolation, or released when it did not, so an MDE outage cannot open the breaker. A
 * reservation counts while it is held (concurrent POSTs cannot overshoot the limit together) and
 * expires by itself, so a reservation whose holder died between reserve and commit frees its slot.
 */
import type { BlastRadiusBreaker, BreakerAdmission, BreakerStatus } from './types';

/**
 * How long a reservation holds its slot: well beyond one POST with its throttle wait and request
 * deadline, so only a holder that died (or hangs) loses it.
 */
export const BREAKER_RESERVATION_MS = 5 * 60_000;

export class RollingWindowBreaker implements BlastRadiusBreaker {
  /** Committed isolations: MDE action id → when it was committed. One entry per action. */
  private committed = new Map<string, number>();
  /** Open reservations: id → when it expires. */
  private readonly reservations = new Map<string, number>();
  private nextReservation = 0;
  private openedAt: number | null = null;
  private openReason = '';

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    readonly reservationMs: number = BREAKER_RESERVATION_MS,
  ) {}

  reserve(now: Date, options: { manual: boolean }): BreakerAdmission {
    const status = this.status(now);
    if (!options.manual) {
      if (status.open) return { allowed: false, reason: this.openReason };
      if (status.count >= this.limit) {
        this.trip(
          now,
          `blast-radius breaker open: ${status.count} isolation${status.count === 1 ? '' : 's'} in the last ${this.windowLabel()} (limit ${this.limit})`,
        );
        return { allowed: false, reason: this.openReason };
      }
      if (status.count + status.reserved >= this.limit)
        // The limit is only reached if the isolations in flight succeed: wait for their answers
        // rather than open the breaker on attempts that may still fail.
        return {
          allowed: false,
          reason: `blast-radius breaker: ${status.count} isolation${status.count === 1 ? '' : 's'} in the last ${this.windowLabel()} and ${status.reserved} being posted (limit ${this.limit}); waiting for their answers`,
          wait: true,
        };
    }
    // Manual requests count towards the window (they take devices offline too) but a person decided them.
    const reservation = `r${this.nextReservation++}`;
    this.reservations.set(reservation, now.getTime() + this.reservationMs);
    return { allowed: true, reservation };
  }

  commit(actionId: string, now: Date, reservation?: string): void {
    if (reservation !== undefined) this.reservations.delete(reservation);
    // One isolation, however many requests followed or adopted it.
    if (!this.committed.has(actionId)) this.committed.set(actionId, now.getTime());
  }

  release(reservation: string): void {
    this.reservations.delete(reservation);
  }

  /** Opens the breaker now, e.g. when one alert asks for more devices than allowed. */
  trip(now: Date, reason: string): void {
    this.openedAt = now.getTime();
    this.openReason = reason;
  }

  reset(): void {
    this.committed = new Map();
    this.reservations.clear();
    this.openedAt = null;
    this.openReason = '';
  }

  status(now: Date): BreakerStatus {
    const nowMs = now.getTime();
    // Map iteration is insertion (= commit) order, so the oldest come first.
    for (const [actionId, at] of this.committed) {
      if (at > nowMs - this.windowMs) break;
      this.committed.delete(actionId);
    }
    for (const [reservation, expiresAt] of this.reservations)
      if (expiresAt <= nowMs) this.reservations.delete(reservation);
    if (this.openedAt !== null && nowMs >= this.openedAt + this.windowMs) this.openedAt = null;
    return {
      open: this.openedAt !== null,
      count: this.committed.size,
      reserved: this.reservations.size,
      limit: this.limit,
      windowMs: this.windowMs,
      closesAt: this.openedAt === null ? null : new Date(this.openedAt + this.windowMs),
      reason: this.openedAt === null ? null : this.openReason,
    };
  }

  private windowLabel(): string {
    const minutes = this.windowMs / 60_000;
    return Number.isInteger(minutes) ? `${minutes} min` : `${this.windowMs} ms`;
  }
}
