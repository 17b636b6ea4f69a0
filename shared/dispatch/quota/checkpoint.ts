/**
 * The throttle's spend, saved now and then so that a restarted worker starts from what the previous
 * process spent instead of from an empty window (the quota ledger of the state store,
 * docs/architecture.md §6). Saves are batched: every `everyCalls` calls or `everyMs` after the first
 * unsaved call, whichever comes first, and once more on `stop`. A save never holds up a call; a failed
 * one is reported once and the next save carries its calls.
 *
 * A crash loses at most the calls made since the last save that completed: that many calls MDE counts
 * and the next process does not, answered by 429 + Retry-After if they fill a window.
 */
import type { QuotaLedger } from '../../state/store';
import type { DispatchReporter } from '../outcome';
import type { MdeThrottle } from './throttle';

export interface CheckpointerOptions {
  /** Save after this many calls (of every API together) at the latest; default 10. */
  everyCalls?: number;
  /** Save this long after the first unsaved call at the latest; default 5 s. */
  everyMs?: number;
  reporter: Pick<DispatchReporter, 'note'>;
}

export class QuotaCheckpointer {
  /** Calls ended since the last checkpoint was taken. */
  private unsaved = 0;
  private timer: NodeJS.Timeout | null = null;
  private saving: Promise<void> | null = null;
  /** A save was due while one was running: run it when that one ends. */
  private again = false;
  private failing = false;
  private stopped = false;
  private readonly unsubscribe: () => void;
  private readonly everyCalls: number;
  private readonly everyMs: number;

  constructor(
    private readonly throttle: MdeThrottle,
    private readonly store: Pick<QuotaLedger, 'save'>,
    private readonly options: CheckpointerOptions,
  ) {
    this.everyCalls = options.everyCalls ?? 10;
    this.everyMs = options.everyMs ?? 5_000;
    this.unsubscribe = throttle.subscribe({ callEnded: () => this.counted() });
  }

  /** Stops saving on calls and saves what is still unsaved; resolves when that save has ended. */
  async stop(): Promise<void> {
    this.unsubscribe();
    this.stopped = true;
    this.clearTimer();
    while (this.saving) await this.saving;
    if (this.unsaved > 0) await this.save();
  }

  private counted(): void {
    this.unsaved += 1;
    // While the store fails, the timer paces the retries rather than every call.
    if (this.unsaved >= this.everyCalls && !this.failing) this.flush();
    else this.arm();
  }

  private arm(): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => this.flush(), this.everyMs);
    // A pending checkpoint never keeps the process alive; `stop` saves what is left.
    this.timer.unref();
  }

  private flush(): void {
    this.clearTimer();
    if (this.saving) this.again = true;
    else this.saving = this.save();
  }

  private async save(): Promise<void> {
    const calls = this.unsaved;
    this.unsaved = 0;
    try {
      await this.store.save(this.throttle.checkpoint());
      if (this.failing)
        this.options.reporter.note('info', {
          event: 'quota-checkpoint-saved',
          reason: 'the quota ledger answers again',
        });
      this.failing = false;
    } catch (error) {
      // The calls stay unsaved: the next checkpoint (the timer, or stop) carries them.
      this.unsaved += calls;
      if (!this.failing)
        this.options.reporter.note('warn', {
          event: 'quota-checkpoint-failed',
          reason: error instanceof Error ? error.message : String(error),
        });
      this.failing = true;
      this.arm();
    } finally {
      this.saving = null;
      if (this.again) {
        this.again = false;
        this.flush();
      }
    }
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
