/**
 * `npm run bench -- storm-store`: what the state store costs a storm. The 2,000-device storm of
 * `storm` runs twice, with the in-process store and with the Table adapter over Azurite (in memory,
 * loopback, started here), each store timed operation by operation. Figures: p50/p99 ms per store
 * operation, store operations and store time per request, and the makespan with Azurite over the
 * makespan in process (target: within 3 %). Azure adds network latency to each operation; the worker
 * does not hold an MDE call slot while it waits on the store.
 */
import { performance } from 'node:perf_hooks';
import { InMemoryStateStore } from '../../shared/state/memory';
import type { StateStore } from '../../shared/state/store';
import { TableStateStore } from '../../shared/state/table';
import { startAzurite } from '../../simulator/azurite';
import { scenario } from './storm';

const DEVICES = 2_000;
/**
 * Ten times real time, not the hundred of `storm`: compressing the quotas does not compress the
 * store, and at 100× the storm would ask Azurite (one Node process on this machine) for ~100 times
 * the operations a second a real storm asks of Azure Table Storage (docs/architecture.md §8).
 */
const SPEEDUP = 10;

/** `store`, with the time of every call of its parts recorded by `part.method`. */
function timed(store: StateStore, times: Map<string, number[]>): StateStore {
  const wrap = <T extends object>(part: T, name: string): T =>
    new Proxy(part, {
      get(target, key, receiver) {
        const member = Reflect.get(target, key, receiver);
        if (typeof member !== 'function') return member;
        return async (...args: unknown[]) => {
          const started = performance.now();
          try {
            return await member.apply(target, args);
          } finally {
            const label = `${name}.${String(key)}`;
            const list = times.get(label) ?? [];
            list.push(performance.now() - started);
            times.set(label, list);
          }
        };
      },
    });
  return {
    register: wrap(store.register, 'register'),
    breaker: wrap(store.breaker, 'breaker'),
    actions: wrap(store.actions, 'actions'),
    quota: wrap(store.quota, 'quota'),
    drift: wrap(store.drift, 'drift'),
    approvals: wrap(store.approvals, 'approvals'),
    openRequests: wrap(store.openRequests, 'openRequests'),
    machineClaims: wrap(store.machineClaims, 'machineClaims'),
    holders: wrap(store.holders, 'holders'),
    ping: () => store.ping(),
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function report(label: string, times: Map<string, number[]>, requests: number): void {
  const all = [...times.values()].flat();
  const total = all.reduce((sum, t) => sum + t, 0);
  process.stdout.write(
    `  ${label}: ${all.length} store operations, ${(all.length / requests).toFixed(1)} per request, ${(total / requests).toFixed(1)} ms of store time per request\n`,
  );
  for (const [name, list] of [...times].sort(([a], [b]) => a.localeCompare(b))) {
    const sorted = [...list].sort((a, b) => a - b);
    process.stdout.write(
      `    ${name.padEnd(22)} ${String(list.length).padStart(6)} calls  p50 ${percentile(sorted, 50).toFixed(1)} ms  p99 ${percentile(sorted, 99).toFixed(1)} ms\n`,
    );
  }
}

/** `store` with the quota budget's document in this process: the budget of one process alone. */
function budgetInProcess(store: StateStore): StateStore {
  return { ...store, quota: new InMemoryStateStore().quota, ping: () => store.ping() };
}

/** The storm of `storm-budget`: under the hourly quota, so the minute window alone paces it. */
const BUDGET_DEVICES = 500;

/**
 * `npm run bench -- storm-budget`: what sharing the quota budget across processes costs a storm
 * (docs/decisions/0014-one-budget-across-processes.md). The same storm on the Table store over
 * Azurite, with the budget document in this process (what one process alone would pay: nothing but
 * the plan) and in Azurite with every other row, each twice: the makespan with the shared budget over
 * the makespan with the budget in process (target within 3 %), and the budget's store operations
 * per isolated device.
 */
export async function runBudgetPair(): Promise<void> {
  // Each storm on an Azurite of its own: one that already holds the other's rows would be slower.
  const onAzurite = async (name: string, place: (store: StateStore) => StateStore) => {
    const azurite = await startAzurite();
    try {
      const times = new Map<string, number[]>();
      const table = new TableStateStore({
        kind: 'connection-string',
        connectionString: azurite.connectionString,
      });
      const figures = await scenario(name, BUDGET_DEVICES, undefined, timed(place(table), times), SPEEDUP);
      return { figures, times };
    } finally {
      await azurite.stop();
    }
  };
  // In the order local, shared, shared, local: the process warming up and the machine's load drifting
  // weigh on both sides alike. Each side's figure is its faster storm.
  const local: Awaited<ReturnType<typeof onAzurite>>[] = [];
  const shared: Awaited<ReturnType<typeof onAzurite>>[] = [];
  for (const side of [local, shared, shared, local])
    side.push(
      side === local
        ? await onAzurite('Table store, budget in process', budgetInProcess)
        : await onAzurite('Table store, budget shared in Azurite', (store) => store),
    );
  const fastest = (runs: typeof local) =>
    runs.reduce((a, b) => (b.figures.makespanMs < a.figures.makespanMs ? b : a));
  const [bestLocal, bestShared] = [fastest(local), fastest(shared)];
  process.stdout.write(`storm-budget: ${BUDGET_DEVICES} devices, each side run twice, its faster storm\n`);
  report('budget in process', bestLocal.times, bestLocal.figures.requests);
  report('budget shared in Azurite', bestShared.times, bestShared.figures.requests);
  for (const run of shared) {
    const syncs = run.times.get('quota.update') ?? [];
    const sorted = [...syncs].sort((a, b) => a - b);
    process.stdout.write(
      `  quota budget alone: ${syncs.length} store operations, ${(syncs.length / BUDGET_DEVICES).toFixed(2)} per isolated device, p50 ${percentile(sorted, 50).toFixed(1)} ms\n`,
    );
  }
  const seconds = (runs: typeof local) =>
    runs.map((r) => (r.figures.makespanMs / 1000).toFixed(2)).join(', ');
  const ratio = bestShared.figures.makespanMs / bestLocal.figures.makespanMs;
  process.stdout.write(
    `  makespans: budget in process ${seconds(local)} s; shared ${seconds(shared)} s\n` +
      `  makespan shared budget / budget in process: ${ratio.toFixed(3)} (${((ratio - 1) * 100).toFixed(1)} %, target within 3 %); quota-optimal ratios ${bestLocal.figures.ratio.toFixed(3)} and ${bestShared.figures.ratio.toFixed(3)}\n`,
  );
}

export async function run(): Promise<void> {
  const inProcessTimes = new Map<string, number[]>();
  const inProcess = await scenario(
    'in-process store',
    DEVICES,
    undefined,
    timed(new InMemoryStateStore(), inProcessTimes),
    SPEEDUP,
  );
  const azurite = await startAzurite();
  try {
    const tableTimes = new Map<string, number[]>();
    const table = timed(
      new TableStateStore({ kind: 'connection-string', connectionString: azurite.connectionString }),
      tableTimes,
    );
    const withTable = await scenario('Table store over Azurite', DEVICES, undefined, table, SPEEDUP);
    process.stdout.write(`storm-store: ${DEVICES} devices\n`);
    report('in-process store', inProcessTimes, inProcess.requests);
    report('Table store over Azurite', tableTimes, withTable.requests);
    // The shared quota budget's own cost (docs/decisions/0014-one-budget-across-processes.md): its syncs.
    for (const [label, times] of [
      ['in-process store', inProcessTimes],
      ['Table store over Azurite', tableTimes],
    ] as const) {
      const syncs = times.get('quota.update')?.length ?? 0;
      process.stdout.write(
        `  quota budget alone (${label}): ${syncs} store operations, ${(syncs / DEVICES).toFixed(2)} per isolated device\n`,
      );
    }
    const ratio = withTable.makespanMs / inProcess.makespanMs;
    process.stdout.write(
      `  makespan with Azurite / in process: ${ratio.toFixed(3)} (${((ratio - 1) * 100).toFixed(1)} %, target within 3 %); quota-optimal ratios ${inProcess.ratio.toFixed(3)} and ${withTable.ratio.toFixed(3)}\n`,
    );
  } finally {
    await azurite.stop();
  }
}
