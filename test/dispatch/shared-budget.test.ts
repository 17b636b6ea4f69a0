import { setTimeout as sleep } from 'node:timers/promises';
import { parseRateLimits } from '../../shared/config';
import { ClaimKeeper } from '../../shared/dispatch/claim-keeper';
import { ENDED_HOLDER, syncShare } from '../../shared/dispatch/quota/budget-shares';
import { SharedBudget } from '../../shared/dispatch/quota/shared-budget';
import { MdeThrottle } from '../../shared/dispatch/quota/throttle';
import type { MdeCall } from '../../shared/mde/requests';
import { InMemoryStateStore } from '../../shared/state/memory';
import {
  QUOTA_SHARES_MAX,
  type QuotaBudgetDocument,
  type QuotaLedger,
  type StateStore,
  StoreUnavailableError,
} from '../../shared/state/store';
import { advanceUntil, handClock } from '../support/hand-clock';
import { recordingReporter } from '../support/reporter';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const WINDOWS = [
  { limit: 5, windowMs: 1_000 },
  { limit: 8, windowMs: 10_000 },
];
const sync = (holder: string, want: number, held = 0, ended: number[] = []) => ({
  holder,
  ended,
  held,
  want,
  pausedUntil: 0,
});

describe('the shared quota budget rule', () => {
  it("grants only what every window has room for, counting every holder's calls and held slots", () => {
    const doc: QuotaBudgetDocument = {
      shares: [
        { holder: 'a', stamps: [T0 - 5_000, T0 - 500], held: 2 },
        { holder: 'b', stamps: [T0 - 100], held: 0 },
      ],
      pausedUntil: 0,
    };
    const leases = new Map([
      ['a', T0 + 60_000],
      ['b', T0 + 60_000],
    ]);
    // The second window: 3 calls and 2 held of 8 leave 3; the first: 2 calls and 2 held of 5 leave 1.
    const answer = syncShare(doc, sync('c', 10), leases, WINDOWS, T0, QUOTA_SHARES_MAX, 50);
    expect(answer.granted).toBe(1);
    expect(answer.next?.shares.find((s) => s.holder === 'c')).toEqual({ holder: 'c', stamps: [], held: 1 });
    expect(answer.others).toEqual({ stamps: [T0 - 5_000, T0 - 500, T0 - 100], held: 2 });
    const full = syncShare(answer.next as QuotaBudgetDocument, sync('c', 1, 1), leases, WINDOWS, T0, 17, 50);
    // Full: the next slot frees when the oldest call of the short window leaves it.
    expect(full).toMatchObject({ granted: 0, retryAt: T0 - 500 + 1_000 + 1, next: null });
  });

  it('counts the held slots of a holder whose lease lapsed as calls at its lease end, in the ended share', () => {
    const doc: QuotaBudgetDocument = {
      shares: [
        { holder: 'dead', stamps: [T0 - 20_000, T0 - 3_000], held: 3 },
        { holder: 'gone', stamps: [T0 - 30_000], held: 0 },
      ],
      pausedUntil: 0,
    };
    const leases = new Map([
      ['dead', T0 - 2_000],
      ['gone', 0],
    ]);
    const answer = syncShare(doc, sync('c', 10), leases, WINDOWS, T0, QUOTA_SHARES_MAX, 50);
    expect(answer.next?.shares).toEqual([
      { holder: ENDED_HOLDER, stamps: [T0 - 3_000, T0 - 2_000, T0 - 2_000, T0 - 2_000], held: 0 },
      { holder: 'c', stamps: [], held: 4 },
    ]);
    expect(answer.granted).toBe(4);
  });

  it('reports the calls a holder made, gives back what it no longer holds, and leaves no share when idle', () => {
    const doc: QuotaBudgetDocument = { shares: [{ holder: 'c', stamps: [], held: 4 }], pausedUntil: 0 };
    const reported = syncShare(doc, sync('c', 0, 0, [T0 - 10, T0 - 5]), new Map(), WINDOWS, T0, 17, 50);
    expect(reported.next?.shares).toEqual([{ holder: 'c', stamps: [T0 - 10, T0 - 5], held: 0 }]);
    const later = T0 + 10_000;
    const idle = syncShare(
      reported.next as QuotaBudgetDocument,
      sync('c', 0),
      new Map(),
      WINDOWS,
      later,
      17,
      50,
    );
    expect(idle.next).toEqual({ shares: [], pausedUntil: 0 });
  });

  it('keeps everyone out until a 429 pause ends, and a new holder out of a crowded document', () => {
    const paused = syncShare(
      { shares: [], pausedUntil: 0 },
      { ...sync('c', 3), pausedUntil: T0 + 700 },
      new Map(),
      WINDOWS,
      T0,
      17,
      50,
    );
    expect(paused).toMatchObject({ granted: 0, retryAt: T0 + 700, next: { pausedUntil: T0 + 700 } });
    const shares = Array.from({ length: 16 }, (_, i) => ({ holder: `h${i}`, stamps: [], held: 0 }));
    const leases = new Map(shares.map((s) => [s.holder, T0 + 60_000]));
    const crowded = syncShare({ shares, pausedUntil: 0 }, sync('c', 1), leases, WINDOWS, T0, 17, 50);
    expect(crowded).toMatchObject({ granted: 0, crowded: true });
  });
});

/** A throttle sharing `store`'s budget under a holder lease of its own, as one process would. */
function process_(store: StateStore, clock: ReturnType<typeof handClock>, limits: string) {
  const { reporter, notes } = recordingReporter();
  const keeper = new ClaimKeeper(store, clock, reporter, 'service-bus', 60_000);
  const throttle = new MdeThrottle({
    rateLimits: parseRateLimits(limits),
    headroom: 0,
    clock,
    share: { ledger: store.quota, leases: store.holders, holder: keeper, reporter, batch: 3 },
  });
  /** One machines call through the MDE client's hook, as the client makes it. */
  const call = (send: () => Promise<void> = async () => undefined) =>
    throttle.scheduler()({ api: 'machines' } as unknown as MdeCall, send);
  return { keeper, throttle, notes, call };
}

describe('throttles sharing one budget', () => {
  const LIMITS = '6/100ms,10/1000ms';

  it('keeps every window of the calls of two processes under its limit together', async () => {
    const clock = handClock(T0);
    const store = new InMemoryStateStore({ clock });
    const sent: number[] = [];
    const processes = [process_(store, clock, LIMITS), process_(store, clock, LIMITS)];
    const calls = processes.flatMap(({ call }) =>
      Array.from({ length: 12 }, () =>
        call(async () => {
          sent.push(clock.now());
        }),
      ),
    );
    let done = 0;
    for (const call of calls) void call.then(() => (done += 1));
    await advanceUntil(clock, () => done === calls.length, 5_000);
    expect(done).toBe(24);
    for (const { limit, windowMs } of [
      { limit: 6, windowMs: 100 },
      { limit: 10, windowMs: 1_000 },
    ])
      for (const at of sent)
        expect(sent.filter((t) => t >= at && t < at + windowMs).length).toBeLessThanOrEqual(limit);
    for (const { throttle, keeper } of processes) {
      await throttle.stop();
      await keeper.stop();
    }
  });

  it('counts, in a process that starts after them, the calls of every process before it', async () => {
    const clock = handClock(T0);
    const store = new InMemoryStateStore({ clock });
    const made = async (p: ReturnType<typeof process_>, count: number) => {
      for (let i = 0; i < count; i += 1) await p.call();
      await p.throttle.stop();
      await p.keeper.stop();
    };
    await made(process_(store, clock, '100/1000ms,40/60s'), 20);
    await made(process_(store, clock, '100/1000ms,40/60s'), 19);
    const next = process_(store, clock, '100/1000ms,40/60s');
    await next.throttle.refreshShares();
    // 39 of 40 spent by the two before it: one call fits, the second waits for the hour.
    expect(next.throttle.reserve({ machines: 1 }, 1)).not.toHaveProperty('retryAt');
    expect(next.throttle.reserve({ machines: 1 }, 1)).toHaveProperty('retryAt');
    await next.throttle.stop();
  });

  it('never loses a call that ends while its share is being written', async () => {
    const clock = handClock(T0);
    const store = new InMemoryStateStore({ clock });
    const { reporter } = recordingReporter();
    const keeper = new ClaimKeeper(store, clock, reporter, 'service-bus', 60_000);
    let duringWrite: (() => void) | null = null;
    const ledger: QuotaLedger = {
      update: (api, step) => {
        duringWrite?.();
        duringWrite = null;
        return store.quota.update(api, step);
      },
    };
    const budget = new SharedBudget(
      { ledger, leases: store.holders, holder: keeper, reporter, batch: 3 },
      WINDOWS,
      clock,
      async () => undefined,
      () => undefined,
    );
    await budget.acquire('machines');
    // The call ends as the share that gives back the unused slots is being written.
    duringWrite = () => budget.ended('machines', clock.now());
    await budget.stop();
    const doc = await store.quota.update('machines', (d) => ({ next: null, result: d }));
    expect(doc.shares.map((share) => share.held + share.stamps.length)).toEqual([1]);
  });

  it('asks for the rest of its batch while half of it is left, so a steady caller does not wait on the store', async () => {
    const clock = handClock(T0);
    const store = new InMemoryStateStore({ clock });
    const { reporter } = recordingReporter();
    const keeper = new ClaimKeeper(store, clock, reporter, 'service-bus', 60_000);
    let writes = 0;
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const ledger: QuotaLedger = {
      update: async (api, step) => {
        writes += 1;
        if (writes > 1) await gate;
        return store.quota.update(api, step);
      },
    };
    const budget = new SharedBudget(
      { ledger, leases: store.holders, holder: keeper, reporter, batch: 4 },
      [{ limit: 100, windowMs: 1_000 }],
      clock,
      async () => undefined,
      () => undefined,
    );
    for (let i = 0; i < 4; i += 1) await budget.acquire('machines');
    // The second call left half the batch: the next sync was on its way before the last slot went.
    expect(writes).toBe(2);
    const fifth = budget.acquire('machines');
    open();
    await fifth;
    for (let i = 0; i < 5; i += 1) budget.ended('machines', clock.now());
    await budget.stop();
    await keeper.stop();
    const doc = await store.quota.update('machines', (d) => ({ next: null, result: d }));
    expect(doc.shares.map((share) => share.held + share.stamps.length)).toEqual([5]);
  });

  it('gives back, when it idles, the slots a sync asking ahead was still being granted', async () => {
    const clock = handClock(T0);
    const store = new InMemoryStateStore({ clock });
    const { reporter } = recordingReporter();
    const keeper = new ClaimKeeper(store, clock, reporter, 'service-bus', 60_000);
    let writes = 0;
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    let thirdWrite: () => void = () => undefined;
    const givenBack = new Promise<void>((resolve) => {
      thirdWrite = resolve;
    });
    const ledger: QuotaLedger = {
      update: async (api, step) => {
        writes += 1;
        if (writes === 2) await gate;
        const answer = await store.quota.update(api, step);
        if (writes === 3) thirdWrite();
        return answer;
      },
    };
    const windowMs = 1_200;
    const budget = new SharedBudget(
      { ledger, leases: store.holders, holder: keeper, reporter, batch: 4 },
      [{ limit: 100, windowMs }],
      clock,
      async () => undefined,
      () => undefined,
    );
    await budget.acquire('machines');
    await budget.acquire('machines');
    budget.ended('machines', clock.now());
    budget.ended('machines', clock.now());
    // Set after the idle timer with its length (a sixth of the window): it fires after it.
    await sleep(windowMs / 6);
    open();
    await givenBack;
    const doc = await store.quota.update('machines', (d) => ({ next: null, result: d }));
    expect(doc.shares.map(({ held, stamps }) => ({ held, calls: stamps.length }))).toEqual([
      { held: 0, calls: 2 },
    ]);
    await budget.stop();
    await keeper.stop();
  }, 10_000);

  it('sends nothing, and gives the slot back, when the budget cannot be written', async () => {
    const clock = handClock(T0);
    const store = new InMemoryStateStore({ clock });
    const unreachable: StateStore = {
      ...store,
      ping: () => store.ping(),
      quota: {
        update: async () => {
          throw new StoreUnavailableError('state store timed out');
        },
      },
    };
    const p = process_(unreachable, clock, '1/1000ms');
    let sent = 0;
    await expect(
      p.call(async () => {
        sent += 1;
      }),
    ).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(sent).toBe(0);
    // The one call of the window was never made: it is still there for the next try.
    expect(p.throttle.reserve({ machines: 1 }, 1)).not.toHaveProperty('retryAt');
    await p.throttle.stop();
  });
});
