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
