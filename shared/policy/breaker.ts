/**
 * The blast-radius breaker: at most `limit` automatic isolations per rolling window. A false positive
 * that matches a whole fleet stops after `limit` devices instead of taking the company offline.
 * Once open it stays open for a full window (or until an operator resets it), so a storm that keeps
 * coming is not let through again piecemeal as old isolations age out.
 */
import type { BlastRadiusBreaker, BreakerAdmission, BreakerStatus } from './types';

export class RollingWindowBreaker implements BlastRadiusBreaker {
  private admitted: number[] = [];
  private openedAt: number | null = null;
  private openReason = '';

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  admit(now: Date, options: { manual: boolean }): BreakerAdmission {
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
    }
    // Manual requests count towards the window (they take devices offline too) but a person decided them.
    this.admitted.push(now.getTime());
    return { allowed: true };
  }

  /** Opens the breaker now, e.g. when one alert asks for more devices than allowed. */
  trip(now: Date, reason: string): void {
    this.openedAt = now.getTime();
    this.openReason = reason;
  }

  reset(): void {
    this.admitted = [];
    this.openedAt = null;
    this.openReason = '';
  }

  status(now: Date): BreakerStatus {
    const nowMs = now.getTime();
    this.admitted = this.admitted.filter((at) => at > nowMs - this.windowMs);
    if (this.openedAt !== null && nowMs >= this.openedAt + this.windowMs) this.openedAt = null;
    return {
      open: this.openedAt !== null,
      count: this.admitted.length,
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
