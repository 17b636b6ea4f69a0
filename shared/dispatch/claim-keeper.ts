/**
 * This process's side of the claims it holds in the store (state/claim.ts): its holder lease,
 * renewed on a timer and before each use so it never lapses while the process acts, ended when the
 * process stops; and the closes of claims the store refused, retried on each renewal until they land.
 * If the process dies, nothing of this is needed: its lease lapses and its claims with it.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../kernel/clock';
import { errorSummary } from '../kernel/errors';
import type { Holding } from '../state/claim';
import { type StateStore, StoreUnavailableError } from '../state/store';
import type { DispatchReporter } from './outcome';

/** Longest a dead process's claims keep holding: seconds to minutes, never the days an action may take. */
export const DEFAULT_CLAIM_LEASE_MS = 60_000;

/** Closes retried at most; past this the oldest wait for their lease to lapse instead. */
const PENDING_MAX = 10_000;

const INLINE_HOLDER = 'inline-';

/**
 * Whether `holder` holds its own queue (an inline process: the CLI, a local run): its requests die
 * with it, unlike those of a Service Bus process, which the queue keeps.
 */
export function holdsOwnQueue(holder: string): boolean {
  return holder.startsWith(INLINE_HOLDER);
}

/**
 * This process's lease lapsed after a claim was taken with it: another process may have taken the
 * claim over meanwhile, so what it guarded (a POST) waits, as for a store it cannot trust.
 */
export class LeaseLapsedError extends StoreUnavailableError {
  constructor(holder: string) {
    super(`holder lease ${holder} lapsed after the claim was taken; another process may hold it now`);
    this.name = 'LeaseLapsedError';
  }
}

export class ClaimKeeper {
  /** Unique per process; says whether the process holds its own queue (`holdsOwnQueue`). */
  readonly id: string;
  private until = 0;
  /**
   * Changes whenever a renewal landed after the lease ran out: claims taken in an earlier term may
   * have been taken over by another process while it was out (a stall, renewals the store refused).
   */
  private currentTerm = 0;
  private timer: NodeJS.Timeout | null = null;
  private renewing: Promise<void> | null = null;
  /** A lease was asked for: `stop` ends it (a process that never needed one writes nothing). */
  private leased = false;
  private paying: Promise<void> | null = null;
  private readonly pending = new Map<string, () => Promise<unknown>>();

  constructor(
    private readonly store: StateStore,
    private readonly clock: Clock,
    private readonly reporter: DispatchReporter,
    readonly queueKind: 'inline' | 'service-bus',
    private readonly leaseMs: number = DEFAULT_CLAIM_LEASE_MS,
  ) {
    this.id = `${queueKind === 'inline' ? INLINE_HOLDER : 'service-bus-'}${randomUUID()}`;
  }

  /** Takes the lease and renews it every third of its length until `stop`. */
  async start(): Promise<void> {
    this.timer ??= setInterval(() => void this.tick(), Math.max(1, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
    await this.fresh().catch((error) => this.noteMissed('claim-lease-not-renewed', error));
  }

  /**
   * Who holds what this process claims now, the lease renewed first when half of it has run, so a
   * claim taken with it holds at least half a lease. Closes still owed are tried first: until they
   * land, the requests they belong to, though ended, would go on absorbing alerts. Throws
   * StoreUnavailableError when the lease cannot be renewed.
   */
  async holding(): Promise<Holding> {
    await this.fresh();
    if (this.pending.size > 0) await this.payOwed();
    return { holder: this.id, heldUntil: this.until };
  }

  /** The lease's term now: a claim taken now holds while `holdingSince` it answers. */
  get term(): number {
    return this.currentTerm;
  }

  /**
   * `holding`, for a claim taken in `term`: throws LeaseLapsedError when the lease ran out since,
   * however briefly, since another process may have taken the claim over meanwhile.
   */
  async holdingSince(term: number): Promise<Holding> {
    const holding = await this.holding();
    if (this.currentTerm !== term) throw new LeaseLapsedError(this.id);
    return holding;
  }

  /** `close` closed a claim; when the store refused, it is tried again on each renewal. */
  async close<T>(name: string, close: () => Promise<T>): Promise<T | null> {
    try {
      const result = await close();
      this.pending.delete(name);
      return result;
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      if (this.pending.size >= PENDING_MAX) this.pending.delete(this.pending.keys().next().value as string);
      this.pending.set(name, close);
      this.noteMissed('claim-not-closed', error, { claim: name });
      return null;
    }
  }

  /** Closes still owed, for tests and health. */
  get owed(): number {
    return this.pending.size;
  }

  /** Renews the lease and retries the closes still owed. */
  async tick(): Promise<void> {
    try {
      await this.renew();
    } catch (error) {
      this.noteMissed('claim-lease-not-renewed', error);
      return;
    }
    await this.payOwed();
  }

  /** Retries the closes still owed, one pass at a time, until the store refuses one. */
  private payOwed(): Promise<void> {
    this.paying ??= (async () => {
      for (const [name, close] of [...this.pending]) {
        try {
          await close();
          this.pending.delete(name);
        } catch (error) {
          if (!(error instanceof StoreUnavailableError)) this.pending.delete(name);
          return;
        }
      }
    })().finally(() => {
      this.paying = null;
    });
    return this.paying;
  }

  /** Stops renewing and ends the lease: every claim still held is free at once. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.renewing?.catch(() => undefined);
    await this.payOwed();
    if (!this.leased) return;
    try {
      await this.store.holders.end(this.id);
    } catch (error) {
      this.noteMissed('claim-lease-not-ended', error);
    }
    this.until = 0;
  }

  private async fresh(): Promise<void> {
    if (this.until - this.clock.now() > this.leaseMs / 2) return;
    await this.renew();
  }

  /** One renewal at a time; callers arriving meanwhile share it. */
  private renew(): Promise<void> {
    this.leased = true;
    this.renewing ??= (async () => {
      const until = this.clock.now() + this.leaseMs;
      await this.store.holders.renew(this.id, until);
      if (this.clock.now() >= this.until) this.currentTerm += 1;
      this.until = until;
    })().finally(() => {
      this.renewing = null;
    });
    return this.renewing;
  }

  private noteMissed(event: string, error: unknown, fields: Record<string, string> = {}): void {
    this.reporter.note('warn', { event, why: errorSummary(error), holder: this.id, ...fields });
  }
}
