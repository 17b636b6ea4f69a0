/**
 * The calls a request reserved before its first one ("budget ahead",
 * docs/decisions/0007-bottleneck-and-sliding-window-budget.md): every call goes through `call`, which
 * spends a reserved slot, or a fresh one only if it is free right now; `close` gives back the unused.
 */
import type { MdeApiName } from '../../mde/api';
import { type CallBudget, callsPerApi } from './api-budget';

/** Thrown by a reservation when a call beyond the reserved ones finds no budget. */
export class BudgetShortError extends Error {
  constructor(
    readonly api: MdeApiName,
    readonly retryAt: number,
  ) {
    super(`no ${api} budget before ${new Date(retryAt).toISOString()}`);
    this.name = 'BudgetShortError';
  }
}

/** What a reservation asks of the budget it was taken from. */
export interface ReservedBudget {
  /** Takes one call more than reserved if it fits right now at `priority`, else throws BudgetShortError. */
  takeNow(api: MdeApiName, priority: number): void;
  /** Runs a call whose slot is taken, in the call line, and settles the slot when it ends. */
  run<T>(api: MdeApiName, priority: number, call: () => Promise<T>): Promise<T>;
  /** Gives back a slot taken and never used. */
  refund(api: MdeApiName): void;
  /**
   * A reserved call of `api` is about to be made, for a reservation taken at `reservedAt` whose slot
   * for it frees at `slotAt` (epoch ms, the budget's clock): resolves then, or rejects once the
   * budget stops.
   */
  slotReached(api: MdeApiName, slotAt: number, reservedAt: number): Promise<void>;
}

export class Reservation {
  private readonly unused = new Map<MdeApiName, number>();
  private readonly guards = new Map<MdeApiName, () => Promise<unknown>>();

  constructor(
    private readonly budget: ReservedBudget,
    needs: CallBudget,
    private readonly priority: number,
    /**
     * When the reserved slots of the request's POST free (it may be reserved ahead of them by the
     * time its earlier calls take): its call waits until then.
     */
    private readonly slots: ReadonlyMap<MdeApiName, number> = new Map(),
    /** When the reservation was taken, on the budget's clock. */
    private readonly reservedAt = 0,
  ) {
    for (const [api, count] of callsPerApi(needs)) this.unused.set(api, count);
  }

  /** Makes one call of `api` in a reserved slot, or in a fresh one (BudgetShortError when none is free). */
  async call<T>(api: MdeApiName, call: () => Promise<T>): Promise<T> {
    const left = this.unused.get(api) ?? 0;
    if (left > 0) {
      this.unused.set(api, left - 1);
      const at = this.slots.get(api);
      if (at !== undefined)
        await this.budget.slotReached(api, at, this.reservedAt).catch((error: unknown) => {
          // Never sent: `close` gives the slot back.
          this.unused.set(api, (this.unused.get(api) ?? 0) + 1);
          throw error;
        });
    } else this.budget.takeNow(api, this.priority);
    const guard = this.guards.get(api);
    this.guards.delete(api);
    return this.budget.run(api, this.priority, async () => {
      await guard?.();
      return call();
    });
  }

  /**
   * `check` runs right before the next call of `api` goes out, once its slot came and its turn in the
   * line: whatever it waited for, a call `check` throws on is never sent.
   */
  beforeSending(api: MdeApiName, check: () => Promise<unknown>): void {
    this.guards.set(api, check);
  }

  close(): void {
    for (const [api, count] of this.unused) for (let i = 0; i < count; i += 1) this.budget.refund(api);
    this.unused.clear();
  }
}
