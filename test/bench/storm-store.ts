/**
 * `npm run bench -- storm-store [--speedup N] [--devices N,…]`: what the state store costs a storm.
 * The burst storm of `storm` (600 and 2,000 devices by default, 25× real time) runs twice at each
 * size, with the in-process store and with the Table adapter over Azurite (in memory, loopback,
 * started here) behind a proxy that counts Table transactions as Azure bills them
 * (test/support/table-transaction-counter.ts), each store timed operation by operation. Figures:
 * p50/p99 ms per store operation, store calls and Table transactions per isolated device (target
 * ≤ 20) by table and verb, process CPU per alert of intake alone with each store (no worker
 * running, as on an HTTP instance; target ≤ 1.2 ms with the Table store) and Table transactions per
 * alert there, the transactions of one device's storm alone (its alerts, one isolation, no re-request),
 * and the makespan with Azurite over the makespan in process (target: within 5 %). Azure
 * adds network latency to each operation; the worker does not hold an MDE call slot while it waits
 * on the store.
 */
import { performance } from 'node:perf_hooks';
import { InMemoryStateStore } from '../../shared/state/memory';
import type { StateStore } from '../../shared/state/store';
import { TableStateStore } from '../../shared/state/table';
import { startAzurite } from '../../simulator/azurite';
import { startTransactionCounter } from '../support/table-transaction-counter';
import { intakeAlone } from './intake-alone';
import { DEFAULT_SPEEDUP, stormOptions } from './options';
import { ALERTS_PER_DEVICE, scenario } from './storm';

/**
 * Compressing the quotas does not compress the store: at 100× a storm would ask Azurite (one Node
 * process on this machine) for ~100 times the operations a second a real storm asks of Azure Table
 * Storage (docs/architecture.md §8); the default 25× (options.ts) stays well inside what it serves.
 */
const DEFAULT_DEVICES = [600, 2_000];
const TABLE_PREFIX = 'stormstore';

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
    deploymentCap: wrap(store.deploymentCap, 'deploymentCap'),
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

function report(label: string, times: Map<string, number[]>, requests: number, isolated: number): void {
  const all = [...times.values()].flat();
  const total = all.reduce((sum, t) => sum + t, 0);
  process.stdout.write(
    `  ${label}: ${all.length} store calls, ${(all.length / requests).toFixed(1)} per request, ${(all.length / isolated).toFixed(1)} per isolated device, ${(total / requests).toFixed(1)} ms of store time per request\n`,
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
      const figures = await scenario(
        name,
        BUDGET_DEVICES,
        undefined,
        timed(place(table), times),
        DEFAULT_SPEEDUP,
      );
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
  report('budget in process', bestLocal.times, bestLocal.figures.requests, bestLocal.figures.devicesIsolated);
  report(
    'budget shared in Azurite',
    bestShared.times,
    bestShared.figures.requests,
    bestShared.figures.devicesIsolated,
  );
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

export async function run(args: string[] = []): Promise<void> {
  const { speedup, devices } = stormOptions(args, { devices: DEFAULT_DEVICES });
  for (const count of devices) await compare(count, speedup);
}

/** One size, in process then over Azurite. */
async function compare(devices: number, speedup: number): Promise<void> {
  const inProcessTimes = new Map<string, number[]>();
  const inProcess = await scenario(
    'in-process store',
    devices,
    undefined,
    timed(new InMemoryStateStore(), inProcessTimes),
    speedup,
  );
  const azurite = await startAzurite();
  const counter = await startTransactionCounter(azurite.port, TABLE_PREFIX);
  try {
    const tableTimes = new Map<string, number[]>();
    const table = timed(
      new TableStateStore(
        { kind: 'connection-string', connectionString: counter.connectionString },
        { tablePrefix: TABLE_PREFIX },
      ),
      tableTimes,
    );
    const withTable = await scenario('Table store over Azurite', devices, undefined, table, speedup);
    const isolated = Math.max(1, withTable.devicesIsolated);
    process.stdout.write(`storm-store: ${devices} devices, ${speedup}× real time\n`);
    report('in-process store', inProcessTimes, inProcess.requests, Math.max(1, inProcess.devicesIsolated));
    report('Table store over Azurite', tableTimes, withTable.requests, isolated);
    process.stdout.write(
      `  Table transactions (a batch counted per operation): ${counter.total()}, ${(counter.total() / isolated).toFixed(1)} per isolated device (target ≤ 20)\n`,
    );
    for (const [label, n] of [...counter.counts()].sort(([, a], [, b]) => b - a))
      process.stdout.write(
        `    ${label.padEnd(22)} ${String(n).padStart(7)}  ${(n / isolated).toFixed(2)} per device\n`,
      );
    // The shared quota budget's own cost (docs/decisions/0014-one-budget-across-processes.md): its syncs.
    for (const [label, times] of [
      ['in-process store', inProcessTimes],
      ['Table store over Azurite', tableTimes],
    ] as const) {
      const syncs = times.get('quota.update')?.length ?? 0;
      process.stdout.write(
        `  quota budget alone (${label}): ${syncs} store operations, ${(syncs / devices).toFixed(2)} per isolated device\n`,
      );
    }
    counter.reset();
    await scenario(
      'one device',
      1,
      undefined,
      new TableStateStore(
        { kind: 'connection-string', connectionString: counter.connectionString },
        { tablePrefix: `${TABLE_PREFIX}one${devices}` },
      ),
      speedup,
    );
    const oneIsolation = counter.total();
    counter.reset();
    const intakeInProcess = await intakeAlone(devices, new InMemoryStateStore());
    const intakeTable = await intakeAlone(
      devices,
      new TableStateStore(
        { kind: 'connection-string', connectionString: counter.connectionString },
        { tablePrefix: `${TABLE_PREFIX}intake` },
      ),
    );
    process.stdout.write(
      `  one device alone (its ${ALERTS_PER_DEVICE} alerts, one isolation, tracked to its end): ${oneIsolation} Table transactions, tables created included\n`,
    );
    process.stdout.write(
      `  intake alone (no worker), process CPU per alert: ${intakeInProcess.cpuMsPerAlert.toFixed(2)} ms in process, ${intakeTable.cpuMsPerAlert.toFixed(2)} ms with the Table store (target ≤ 1.2 ms); ${(counter.total() / intakeTable.alerts).toFixed(2)} Table transactions per alert\n`,
    );
    const ratio = withTable.makespanMs / inProcess.makespanMs;
    process.stdout.write(
      `  makespan with Azurite / in process: ${ratio.toFixed(3)} (${((ratio - 1) * 100).toFixed(1)} %, target within 5 %); quota-optimal ratios ${inProcess.ratio.toFixed(3)} and ${withTable.ratio.toFixed(3)}\n\n`,
    );
  } finally {
    await counter.close();
    await azurite.stop();
  }
}
