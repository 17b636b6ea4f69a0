/**
 * `npm run bench -- storm-restart`: a worker that crashes in the middle of a storm and the one that
 * takes over. Both spend one machines quota (the documented 100/min and 1,500/h, 100× faster) as
 * fast as their throttle lets them, over one state store. The crash comes at a random call: from then
 * on the first process writes nothing (its lease is neither renewed nor ended, its slots never given
 * back), so its calls count in the shared budget as the slots it held until its lease lapses
 * (quota/budget-shares.ts). Prints, per trial and at most over all: the calls the budget missed, the 429s the
 * second process drew (each answered by waiting its Retry-After, as the worker does: no more than the
 * calls missed, nor than its calls in flight when the first 429 came back, since that one pauses the
 * API and caps the window), and the ceilings it learned. In steady state the bench
 * `storm` shows 0 × 429; this is the bounded number a crash may cost.
 */
import { parseRateLimits } from '../../shared/config';
import { compressTiming } from '../../shared/dispatch/timing';
import { RateLimitedError } from '../../shared/mde/errors';
import { createRuntime, type Runtime } from '../../shared/runtime';
import { InMemoryStateStore } from '../../shared/state/memory';
import type { StateStore } from '../../shared/state/store';
import { seededRandom } from '../../simulator/random';
import { startSimulatorWithIdentity } from '../support/simulator';
import { stormOptions } from './options';
import { describeLoad, startLoadMeter } from './process-load';
import { rateLimitsAt } from './storm';

const TRIALS = 5;
/** Lookups in flight at once in each process, like a busy worker. */
const CALLERS = 16;
/** How long the second process runs: past the minute window, where a lost call could still count. */
const secondRunMs = (rateLimits: string) => 1.5 * parseRateLimits(rateLimits)[0].windowMs;

/** The shared store, which the first process no longer writes once it has crashed. */
function crashable(store: StateStore): { store: StateStore; crash(): void } {
  let crashed = false;
  const alive = () => {
    if (crashed) throw new Error('the process crashed');
  };
  const quota: StateStore['quota'] = {
    update: async (api, step) => {
      alive();
      return store.quota.update(api, step);
    },
  };
  const holders: StateStore['holders'] = {
    renew: async (holder, until) => {
      alive();
      return store.holders.renew(holder, until);
    },
    end: async (holder) => {
      alive();
      return store.holders.end(holder);
    },
    liveUntil: (holder) => store.holders.liveUntil(holder),
  };
  return {
    store: { ...store, quota, holders, ping: () => store.ping() } as StateStore,
    crash: () => {
      crashed = true;
    },
  };
}

interface Trial {
  crashAfter: number;
  missed: number;
  rateLimited: number;
  learned: number;
}

async function trial(crashAfter: number, speedup: number): Promise<Trial> {
  const RATE_LIMITS = rateLimitsAt(speedup);
  const sim = await startSimulatorWithIdentity({ rateLimits: RATE_LIMITS });
  const machineId = sim.machines()[0].id;
  const shared = new InMemoryStateStore();
  const env = { ...sim.env(), MDE_RATE_LIMITS: RATE_LIMITS, MDE_RATE_HEADROOM: '0' };
  const open = (store: StateStore) =>
    createRuntime({
      env,
      mode: 'inline',
      store,
      timing: compressTiming(1 / speedup),
      reporter: { outcome: () => undefined, note: () => undefined },
    });
  const machinesCalls = () => sim.calls().filter((c) => c.api === 'machines');
  try {
    // The first process, until its crash.
    const first = crashable(shared);
    const a = open(first.store);
    let made = 0;
    await Promise.all(
      Array.from({ length: CALLERS }, async () => {
        while (made < crashAfter) {
          made += 1;
          // The crash comes as the last call is sent: the calls still in flight are never saved.
          if (made === crashAfter) first.crash();
          await a.api.getMachine(machineId);
        }
      }),
    );
    await a.close();
    const byFirst = machinesCalls().length;

    // The second process, on what the budget holds: the first one's calls, and the slots it held.
    const saved = await shared.quota.update('machines', (doc) => ({
      next: null,
      result: doc.shares.reduce((sum, share) => sum + share.stamps.length + share.held, 0),
    }));
    const b = open(shared);
    const learned: number[] = [];
    b.throttle.subscribe({ learned: (_api, ceiling) => learned.push(ceiling.learned) });
    const stopAt = Date.now() + secondRunMs(RATE_LIMITS);
    await Promise.all(Array.from({ length: CALLERS }, () => lookUpUntil(b, machineId, stopAt)));
    const rateLimited = machinesCalls()
      .slice(byFirst)
      .filter((c) => c.status === 429).length;
    await b.close();
    return { crashAfter, missed: Math.max(0, byFirst - saved), rateLimited, learned: learned.length };
  } finally {
    await sim.close();
  }
}

/** Lookups until `stopAt`; a 429 pauses the throttle until its Retry-After, as the worker's does. */
async function lookUpUntil(runtime: Runtime, machineId: string, stopAt: number) {
  while (Date.now() < stopAt) {
    try {
      await runtime.api.getMachine(machineId);
    } catch (error) {
      if (!(error instanceof RateLimitedError)) throw error;
      runtime.throttle.pause('machines', runtime.throttle.clock.now() + (error.retryAfterMs ?? 1_000));
    }
  }
}

export async function run(args: string[] = []): Promise<void> {
  const { speedup } = stormOptions(args);
  const random = seededRandom(7);
  const meter = startLoadMeter();
  process.stdout.write(
    `storm-restart: a crash mid-storm, then the next process on the same quota (${rateLimitsAt(speedup)}, ${speedup}× real time), ${TRIALS} trials\n`,
  );
  const trials: Trial[] = [];
  for (let i = 0; i < TRIALS; i += 1) {
    const t = await trial(random.int(50, 400), speedup);
    trials.push(t);
    process.stdout.write(
      `  crash after ${t.crashAfter} calls: calls the budget missed ${t.missed}; 429s drawn ${t.rateLimited}; ceilings learned ${t.learned}\n`,
    );
  }
  const most = (key: keyof Trial) => Math.max(...trials.map((t) => t[key]));
  process.stdout.write(
    `  at most: calls missed ${most('missed')}, 429s ${most('rateLimited')} (0: the budget counts every call once it is granted)\n  ${describeLoad(meter.stop())}\n\n`,
  );
}
