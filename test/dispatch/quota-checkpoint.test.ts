/**
 * The quota ledger: a throttle's spend checkpointed through the real Table adapter over Azurite (in
 * memory, loopback, started here) and restored in a second throttle, as a restarted worker does; and
 * the batched checkpointer that saves it.
 */
import { loadConfig, parseRateLimits } from '../../shared/config';
import { QuotaCheckpointer } from '../../shared/dispatch/quota/checkpoint';
import { withReservation } from '../../shared/dispatch/quota/current-reservation';
import { Reservation } from '../../shared/dispatch/quota/reservation';
import { MdeThrottle } from '../../shared/dispatch/quota/throttle';
import { createMdeClient } from '../../shared/mde/client';
import { createCredential } from '../../shared/mde/credential';
import type { QuotaCheckpoint, QuotaLedger, StateStore } from '../../shared/state/store';
import { TableStateStore } from '../../shared/state/table';
import { type RunningAzurite, startAzurite } from '../../simulator/azurite';
import { startSimulator } from '../../simulator/index';
import { pointIdentityAt } from '../support/identity';

const LIMITS = '10/1000ms,12/10000ms';

let azurite: RunningAzurite;
let tables = 0;

beforeAll(async () => {
  azurite = await startAzurite();
}, 30_000);

afterAll(async () => {
  await azurite?.stop();
});

function freshStore(): StateStore {
  tables += 1;
  return new TableStateStore(
    { kind: 'connection-string', connectionString: azurite.connectionString },
    { tablePrefix: `q${process.pid}x${tables}` },
  );
}

function throttleAt(clock: { now: () => number }): MdeThrottle {
  return new MdeThrottle({ rateLimits: parseRateLimits(LIMITS), headroom: 0, clock });
}

/** Makes `count` isolate calls one after the other through the throttle's call line. */
async function spend(throttle: MdeThrottle, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1)
    await (throttle.reserve({ isolate: 1 }, 1) as Reservation).call('isolate', async () => 'posted');
}

/** How many isolate calls would fit right now (none of them is made). */
function callsThatFitNow(throttle: MdeThrottle): number {
  const taken: Reservation[] = [];
  for (;;) {
    const reservation = throttle.reserve({ isolate: 1 }, 1);
    if (!(reservation instanceof Reservation)) break;
    taken.push(reservation);
  }
  for (const reservation of taken) reservation.close();
  return taken.length;
}

/** A quota ledger that records what it was given; `failing` makes saves throw, `hold` keeps them pending. */
function recordingStore(): Pick<QuotaLedger, 'save'> & {
  saved: QuotaCheckpoint[][];
  failing: boolean;
  hold: Promise<void> | null;
  nextSave(): Promise<void>;
} {
  let waiter: (() => void) | null = null;
  const store = {
    saved: [] as QuotaCheckpoint[][],
    failing: false,
    hold: null as Promise<void> | null,
    async save(checkpoints: QuotaCheckpoint[]) {
      await store.hold;
      waiter?.();
      if (store.failing) throw new Error('store down');
      store.saved.push(checkpoints);
    },
    nextSave: () => new Promise<void>((resolve) => (waiter = resolve)),
  };
  return store;
}

const isolateStamps = (checkpoints: QuotaCheckpoint[]) =>
  checkpoints.find((c) => c.api === 'isolate')?.stamps.length;

describe('MdeThrottle checkpoints through the quota ledger', () => {
  it('a throttle restored from a checkpoint spends only what the first left of the window', async () => {
    const store = freshStore();
    let now = 5_000;
    const first = throttleAt({ now: () => now });
    await spend(first, 7);
    first.pause('machines', 9_000);
    await store.quota.save(first.checkpoint());
    await first.stop();

    now = 5_200;
    const second = throttleAt({ now: () => now });
    second.restore(await store.quota.load());
    // 10 per second: the first spent 7 of them 200 ms ago.
    expect(callsThatFitNow(second)).toBe(3);
    expect(second.reserve({ machines: 1 }, 1)).toEqual({ retryAt: 9_000 });
    // Once the first's calls have left the short window, the long one (12 per 10 s) still holds them.
    now = 6_001;
    expect(callsThatFitNow(second)).toBe(5);
    await second.stop();
  });

  it('counts calls in flight at the checkpoint as made then', async () => {
    const now = 1_000;
    const first = throttleAt({ now: () => now });
    expect(first.reserve({ isolate: 4 }, 1)).toBeInstanceOf(Reservation);
    const second = throttleAt({ now: () => now });
    second.restore(first.checkpoint());
    expect(callsThatFitNow(second)).toBe(10 - 4);
  });

  it('passes over an API it does not know', () => {
    const throttle = throttleAt({ now: () => 1_000 });
    const unknown = { api: 'retired' as QuotaCheckpoint['api'], stamps: [1_000], pausedUntil: 0 };
    throttle.restore([unknown, { api: 'isolate', stamps: [1_000], pausedUntil: 0 }]);
    expect(callsThatFitNow(throttle)).toBe(9);
  });
});

describe('a restarted process against MDE (the simulator)', () => {
  it('stays inside the quota the first process spent part of: no 429', async () => {
    // A window long enough that both processes' calls fall in it however slow the machine.
    const limits = '10/60s';
    const sim = await startSimulator({ rateLimits: limits });
    const restoreIdentity = pointIdentityAt(sim);
    const store = freshStore();
    const machineId = sim.machines()[0].id;
    const processWith = () => {
      const throttle = new MdeThrottle({ rateLimits: parseRateLimits(limits), headroom: 0 });
      const config = loadConfig({ ...sim.env(), MDE_RATE_LIMITS: limits });
      const client = createMdeClient(config, {
        credential: createCredential(config),
        schedule: throttle.scheduler(),
      });
      return { throttle, client };
    };
    /** Looks the machine up `count` times in one reservation; answers how many MDE refused with 429. */
    const lookUp = async (app: ReturnType<typeof processWith>, count: number) => {
      const reservation = app.throttle.reserve({ machines: count }, 1);
      if (!(reservation instanceof Reservation)) return null;
      const answers = await withReservation(reservation, () =>
        Promise.allSettled(Array.from({ length: count }, () => app.client.getMachine(machineId))),
      );
      return answers.filter((a) => a.status === 'rejected').length;
    };
    const tooMany = () => sim.calls().filter((c) => c.api === 'machines' && c.status === 429).length;
    try {
      const first = processWith();
      expect(await lookUp(first, 7)).toBe(0);
      await store.quota.save(first.throttle.checkpoint());
      await first.throttle.stop();

      const second = processWith();
      second.throttle.restore(await store.quota.load());
      expect(await lookUp(second, 4)).toBeNull();
      expect(await lookUp(second, 3)).toBe(0);
      expect(tooMany()).toBe(0);
      await second.throttle.stop();

      // Without the checkpoint, a third process would have spent past the quota.
      const forgetful = processWith();
      expect(await lookUp(forgetful, 3)).toBe(3);
      expect(tooMany()).toBe(3);
      await forgetful.throttle.stop();
    } finally {
      restoreIdentity();
      await sim.close();
    }
  });
});

describe('QuotaCheckpointer', () => {
  const silent = { note: () => undefined };

  it('saves every N calls, and what is left on stop', async () => {
    const throttle = throttleAt({ now: () => 1_000 });
    const store = recordingStore();
    const checkpointer = new QuotaCheckpointer(throttle, store, {
      everyCalls: 3,
      everyMs: 3_600_000,
      reporter: silent,
    });
    const saved = store.nextSave();
    await spend(throttle, 4);
    await saved;
    expect(store.saved.map(isolateStamps)).toEqual([3]);
    await checkpointer.stop();
    expect(store.saved.map(isolateStamps)).toEqual([3, 4]);
    // Stopped: calls no longer trigger saves.
    await spend(throttle, 3);
    expect(store.saved).toHaveLength(2);
    await throttle.stop();
  });

  it('saves after the interval when fewer than N calls were made', async () => {
    const throttle = throttleAt({ now: () => 1_000 });
    const store = recordingStore();
    const checkpointer = new QuotaCheckpointer(throttle, store, {
      everyCalls: 100,
      everyMs: 5,
      reporter: silent,
    });
    const saved = store.nextSave();
    await spend(throttle, 1);
    await saved;
    expect(store.saved.map(isolateStamps)).toEqual([1]);
    // Nothing left to save on stop.
    await checkpointer.stop();
    expect(store.saved).toHaveLength(1);
    await throttle.stop();
  });

  it('never holds up a call while a save is pending', async () => {
    const throttle = throttleAt({ now: () => 1_000 });
    const store = recordingStore();
    let release: () => void = () => undefined;
    store.hold = new Promise<void>((resolve) => (release = resolve));
    const checkpointer = new QuotaCheckpointer(throttle, store, {
      everyCalls: 1,
      everyMs: 3_600_000,
      reporter: silent,
    });
    // Every call asks for a save; the first hangs, and the calls go on regardless.
    await spend(throttle, 5);
    expect(store.saved).toHaveLength(0);
    release();
    await checkpointer.stop();
    expect(store.saved.at(-1)?.find((c) => c.api === 'isolate')?.stamps).toHaveLength(5);
    await throttle.stop();
  });

  it('reports a failing ledger once, and the next save carries the calls', async () => {
    const throttle = throttleAt({ now: () => 1_000 });
    const store = recordingStore();
    store.failing = true;
    const notes: Record<string, unknown>[] = [];
    const checkpointer = new QuotaCheckpointer(throttle, store, {
      everyCalls: 1,
      everyMs: 5,
      reporter: { note: (_level, record) => notes.push(record) },
    });
    let failed = store.nextSave();
    await spend(throttle, 1);
    await failed;
    failed = store.nextSave();
    await spend(throttle, 1);
    // The retry comes from the timer, not from each call.
    await failed;
    expect(notes.map((n) => n.event)).toEqual(['quota-checkpoint-failed']);
    store.failing = false;
    await checkpointer.stop();
    expect(store.saved.map(isolateStamps)).toEqual([2]);
    expect(notes.map((n) => n.event)).toEqual(['quota-checkpoint-failed', 'quota-checkpoint-saved']);
    await throttle.stop();
  });
});
