/**
 * Requests this process deferred for lack of budget, brought forward when budget frees before their
 * time (docs/decisions/0023-deferred-requests-come-forward.md). A deferred request's time is the slot
 * of its place in the throttle's waiting lines, computed once; places that are never spent (a
 * request ending skipped or coalesced, a reservation giving back calls it did not make) leave slots
 * free that nobody was told about. The throttle says when that happens (`freed`) and who may start
 * now (`startable`); their scheduled messages are delivered now instead (`bringForward`). Between
 * such events a timer asks again when the first request still waiting may start, so no slot of a
 * window stays unused while a request waits for it.
 *
 * Only a shortcut: every request keeps its scheduled message, which comes at its time if this
 * process never brings it forward (it stopped, or the queue no longer has it).
 */
import type { Clock } from '../kernel/clock';
import { errorSummary } from '../kernel/errors';
import type { DispatchReporter } from './outcome';
import type { MdeThrottle } from './quota/throttle';
import type { RequestQueue } from './transport/queue';

/** Deferrals remembered at once; past this, a request comes at its scheduled time. */
export const DEFERRALS_HELD_MAX = 10_000;

/** A waiting message and when it is scheduled for. */
interface Deferral {
  messageId: string;
  at: number;
}

export class DeferredRequests {
  /** By request id, which is the claimant in the throttle's waiting lines. */
  private readonly held = new Map<string, Deferral>();
  private reviewing = false;
  private reviewAgain = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly queue: RequestQueue,
    private readonly throttle: MdeThrottle,
    private readonly clock: Clock,
    private readonly reporter: Pick<DispatchReporter, 'note'>,
  ) {
    this.unsubscribe = throttle.subscribe({ freed: () => this.review() });
  }

  /** `requestId`'s message `messageId` waits until `at` for budget. */
  hold(requestId: string, messageId: string, at: number): void {
    if (this.held.size >= DEFERRALS_HELD_MAX && !this.held.has(requestId)) return;
    this.held.set(requestId, { messageId, at });
    this.review();
  }

  close(): void {
    this.unsubscribe();
    this.clearTimer();
    this.held.clear();
  }

  /** Brings forward whoever may start now; one review at a time, the events meanwhile answered by one more. */
  private review(): void {
    if (this.reviewing) {
      this.reviewAgain = true;
      return;
    }
    this.reviewing = true;
    void this.bringForward().finally(() => {
      this.reviewing = false;
      if (this.reviewAgain) {
        this.reviewAgain = false;
        this.review();
      }
    });
  }

  private async bringForward(): Promise<void> {
    // Events come in bursts (a reservation gives back each unused call): one review answers them.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const now = this.clock.now();
    for (const [requestId, { at }] of this.held) if (at <= now) this.held.delete(requestId);
    const { claimants, next } = this.throttle.startable();
    for (const claimant of claimants) {
      const deferral = this.held.get(claimant);
      if (!deferral) continue;
      this.held.delete(claimant);
      try {
        await this.queue.bringForward(deferral.messageId, new Date(now));
      } catch (error) {
        // Its scheduled message still comes at its time.
        this.reporter.note('warn', {
          event: 'deferral-not-brought-forward',
          why: errorSummary(error),
          requestId: claimant,
        });
      }
    }
    this.armTimer(next);
  }

  /** Asks again at `next`, when the first request still waiting may start, if that is before its own time. */
  private armTimer(next: number): void {
    this.clearTimer();
    if (this.held.size === 0 || next === Number.POSITIVE_INFINITY) return;
    const timer = setTimeout(() => this.review(), Math.max(1, next - this.clock.now()));
    // Never what keeps a process alive: the scheduled messages are.
    timer.unref();
    this.timer = timer;
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
