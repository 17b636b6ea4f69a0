/**
 * This process's side of the quota budget every process shares (budget-shares.ts,
 * docs/decisions/0014-one-budget-across-processes.md): before each MDE call it takes a slot it holds
 * in the store, and when it holds none it syncs its share, one conditional write that reports the
 * calls ended since the last sync and asks for a small batch of slots. Slots live by the process's
 * holder lease (claim.ts, the same lease its claims live by): a slot is used only with half a lease
 * left, and a lease that lapsed, however briefly, takes every slot granted under it away. A process
 * that stops using its slots gives them back after `idleMs`; one that dies holds them at most until
 * its lease ends.
 */

import type { Clock } from '../../kernel/clock';
import { errorSummary } from '../../kernel/errors';
import { MDE_APIS, type MdeApiName } from '../../mde/api';
import type { HolderLeases, Holding } from '../../state/claim';
import { QUOTA_SHARES_MAX, type QuotaLedger, StoreUnavailableError } from '../../state/store';
import type { DispatchReporter } from '../outcome';
import { type ShareAnswer, syncShare } from './budget-shares';
import type { WindowLimit } from './sliding-window';

/** Who the process is to the store: its holder lease (ClaimKeeper). */
export interface BudgetHolder {
  readonly id: string;
  /** Changes whenever the lease was renewed after it had run out. */
  readonly term: number;
  /** The lease, renewed first when half of it has run; StoreUnavailableError when it cannot be. */
  holding(): Promise<Holding>;
}

export interface ShareOptions {
  ledger: QuotaLedger;
  leases: Pick<HolderLeases, 'liveUntil'>;
  holder: BudgetHolder;
  reporter: Pick<DispatchReporter, 'note'>;
  /** Slots asked for per sync at most; default 10. */
  batch?: number;
}

/** Every share of the budget is held by a live process: this one waits for one to end. */
export class BudgetCrowdedError extends StoreUnavailableError {
  constructor(api: MdeApiName) {
    super(`${QUOTA_SHARES_MAX - 1} processes already share the ${api} quota; none is left for this one`);
    this.name = 'BudgetCrowdedError';
  }
}

/** What other processes spend of one API, as the last sync saw it. */
export type SharePicture = (api: MdeApiName, answer: ShareAnswer) => void;

interface ApiShare {
  /** Slots granted and unused, in `term`. */
  allowance: number;
  term: number;
  inFlight: number;
  /** End times of calls not yet reported. */
  ended: number[];
  /** A 429's Retry-After not yet reported. */
  pausedUntil: number;
  waiting: number;
  syncing: Promise<ShareAnswer> | null;
  idle: NodeJS.Timeout | null;
}

export class SharedBudget {
  private readonly shares: Record<MdeApiName, ApiShare>;
  private readonly batch: number;
  /** With only slots held elsewhere in the way, asked again this soon. */
  private readonly pollMs: number;
  /** Slots unused this long go back. */
  private readonly idleMs: number;
  private stopped = false;

  constructor(
    private readonly options: ShareOptions,
    private readonly windows: readonly WindowLimit[],
    private readonly clock: Clock,
    /** Resolves at a time on `clock`; rejects once the throttle stops. */
    private readonly waitUntil: (at: number) => Promise<void>,
    private readonly picture: SharePicture,
  ) {
    this.batch = options.batch ?? 10;
    const shortest = Math.min(...windows.map((w) => w.windowMs));
    this.pollMs = Math.max(1, Math.floor(shortest / 20));
    this.idleMs = Math.max(1, Math.floor(shortest / 6));
    const shares = {} as Record<MdeApiName, ApiShare>;
    for (const api of MDE_APIS)
      shares[api] = {
        allowance: 0,
        term: -1,
        inFlight: 0,
        ended: [],
        pausedUntil: 0,
        waiting: 0,
        syncing: null,
        idle: null,
      };
    this.shares = shares;
  }

  /** Reads every API's document: what the other processes, live or ended, spent (at start). */
  async refresh(): Promise<void> {
    await Promise.all(MDE_APIS.map((api) => this.sync(api, 0)));
  }

  /**
   * Takes one slot of `api` for a call about to be sent, syncing the share when none is held, and
   * waiting when the budget has none. Throws StoreUnavailableError (nothing may be sent) when the
   * lease or the share cannot be written.
   */
  async acquire(api: MdeApiName): Promise<void> {
    const share = this.shares[api];
    share.waiting += 1;
    try {
      for (;;) {
        await this.options.holder.holding();
        if (share.term !== this.options.holder.term) {
          // Granted under a lease that lapsed since: another process may have counted them as spent.
          share.allowance = 0;
          share.term = this.options.holder.term;
        }
        if (share.allowance > 0) {
          share.allowance -= 1;
          share.inFlight += 1;
          this.askAhead(api);
          return;
        }
        const answer = await this.sync(api, Math.max(this.batch, share.waiting));
        if (share.allowance > 0) continue;
        if (answer.crowded) throw new BudgetCrowdedError(api);
        await this.waitUntil(Math.min(answer.retryAt, this.clock.now() + this.pollMs));
      }
    } finally {
      share.waiting -= 1;
      this.armIdle(api);
    }
  }

  /**
   * With half a batch left and no sync under way, asks for the rest of the batch in the background:
   * a process that keeps calling finds its next slots held when it comes to them instead of waiting
   * a store round trip every batch (the storm's makespan, `npm run bench -- storm-budget`). It never
   * holds more than one batch unused.
   */
  private askAhead(api: MdeApiName): void {
    const share = this.shares[api];
    if (this.stopped || share.syncing || share.allowance > this.batch / 2) return;
    this.sync(api, this.batch - share.allowance).catch((error: unknown) =>
      this.options.reporter.note('warn', {
        event: 'quota-share-not-synced',
        api,
        why: `${errorSummary(error)}; the next call asks again`,
      }),
    );
  }

  /** A call sent in a slot of `api` ended at `at`. */
  ended(api: MdeApiName, at: number): void {
    const share = this.shares[api];
    share.inFlight -= 1;
    share.ended.push(at);
    this.armIdle(api);
  }

  /** MDE answered 429: every process hears it at this one's next sync. */
  pause(api: MdeApiName, until: number): void {
    const share = this.shares[api];
    share.pausedUntil = Math.max(share.pausedUntil, until);
  }

  /** Gives back every slot held and reports the calls not yet reported. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(
      MDE_APIS.map(async (api) => {
        const share = this.shares[api];
        if (share.idle) clearTimeout(share.idle);
        share.idle = null;
        await share.syncing?.catch(() => undefined);
        if (share.allowance + share.inFlight + share.ended.length > 0) await this.giveBack(api);
      }),
    );
  }

  /** After `idleMs` without a call, the slots still held go back and the calls made are reported. */
  private armIdle(api: MdeApiName): void {
    const share = this.shares[api];
    if (this.stopped || share.waiting > 0) return;
    if (share.idle) clearTimeout(share.idle);
    share.idle = setTimeout(() => {
      share.idle = null;
      if (share.waiting === 0) void this.giveBack(api);
    }, this.idleMs);
    share.idle.unref();
  }

  private async giveBack(api: MdeApiName): Promise<void> {
    const share = this.shares[api];
    // A sync asking ahead may still be under way: what it grants goes back with the rest.
    await share.syncing?.catch(() => undefined);
    if (share.waiting > 0 && !this.stopped) return;
    // Nothing here uses them any more: held in the store until the sync lands, never after.
    share.allowance = 0;
    await this.sync(api, 0).catch((error: unknown) =>
      this.options.reporter.note('warn', {
        event: 'quota-share-not-synced',
        api,
        why: `${errorSummary(error)}; the share's slots count as spent until the next sync or the end of this process's lease`,
      }),
    );
  }

  /** One sync per API at a time; callers arriving meanwhile share it. */
  private sync(api: MdeApiName, want: number): Promise<ShareAnswer> {
    const share = this.shares[api];
    share.syncing ??= this.write(api, want).finally(() => {
      share.syncing = null;
    });
    return share.syncing;
  }

  private async write(api: MdeApiName, want: number): Promise<ShareAnswer> {
    const share = this.shares[api];
    const { holder } = this.options;
    const term = holder.term;
    // Taken together: a call that ends while the write is under way stays held in this sync and is
    // reported by the next, never missing from both.
    const held = share.allowance + share.inFlight;
    const reported = share.ended.length;
    const ended = share.ended.slice(0, reported);
    const pausedUntil = share.pausedUntil;
    const answer = await this.options.ledger.update(api, async (doc) => {
      const leases = new Map<string, number>();
      for (const other of doc.shares)
        if (other.holder !== holder.id)
          leases.set(other.holder, await this.options.leases.liveUntil(other.holder));
      const result = syncShare(
        doc,
        { holder: holder.id, ended, held, want, pausedUntil },
        leases,
        this.windows,
        this.clock.now(),
        QUOTA_SHARES_MAX,
        this.pollMs,
      );
      return { next: result.next, result };
    });
    share.ended.splice(0, reported);
    if (share.pausedUntil === pausedUntil) share.pausedUntil = 0;
    // A grant under a lease that lapsed meanwhile is not used: the next sync gives it back.
    if (holder.term === term && share.term === term) share.allowance += answer.granted;
    this.picture(api, answer);
    return answer;
  }
}
