/**
 * `npm run bench -- store`: what one state store operation costs against Azurite (in memory, on
 * loopback, started here), one at a time as a request makes them: a register write, a breaker
 * reserve + commit (the pair an isolate POST adds), an action ledger write and a quota checkpoint
 * (a light one, and one with every API's hour window full).
 * Figures: p50 and p99 in ms over OPERATIONS runs of each, after a warm-up of each. Azure adds network
 * latency on top; the figures bound what the store's own work costs.
 */
import { performance } from 'node:perf_hooks';
import { MDE_APIS } from '../../shared/mde/api';
import type { StateStore } from '../../shared/state/store';
import { TableStateStore } from '../../shared/state/table';
import { startAzurite } from '../../simulator/azurite';

const OPERATIONS = 500;
/** Azurite (and the SDK) need about this many calls before their code paths are compiled and timings settle. */
const WARM_UP = 500;
const LIMITS = { limit: 1_000_000, windowMs: 3_600_000 };

const machine = (n: number) => n.toString(16).padStart(40, '0');

const OPERATIONS_MEASURED: Record<string, (store: StateStore, n: number) => Promise<unknown>> = {
  'register write': (store, n) =>
    store.register.record({
      machineId: machine(n),
      state: 'isolating',
      requestId: `req-${n}`,
      reason: 'bench',
      provenance: {
        requestedBy: { kind: 'rule', name: 'bench-rule' },
        alertSource: 'mde-alert',
        alertId: `alert-${n}`,
        incidentId: null,
        incidentArmId: null,
        policyVersion: 'bench-1',
        mode: 'enforce',
        reason: 'bench',
      },
    }),
  'breaker reserve+commit': async (store, n) => {
    const admission = await store.breaker.reserve({ requestId: `req-${n}`, manual: false }, LIMITS);
    if (!admission.allowed) throw new Error(admission.reason);
    await store.breaker.commit(admission.reservationId, `action-${n}`);
  },
  'ledger write': (store, n) =>
    store.actions.record({
      machineId: machine(n),
      actionId: `00000000-0000-4000-8000-${n.toString().padStart(12, '0')}`,
      requestId: `req-${n}`,
      type: 'Isolate',
      status: 'Pending',
      adopted: false,
      computerDnsName: `ws${n}.contoso.com`,
      createdAt: new Date().toISOString(),
      recordedAt: new Date().toISOString(),
    }),
  'quota share sync (100 stamps)': (store, n) => syncShare(store, n, 100, 1),
  // What a share holds with the hour window full (1,500 calls, seconds apart).
  'quota share sync (1,500 stamps)': (store, n) => syncShare(store, n, 1_500, 2_400),
};

/** One holder's share written with `calls` stamps, as a sync that reports them writes it. */
function syncShare(store: StateStore, n: number, calls: number, gapMs: number) {
  const stamps = Array.from({ length: calls }, (_, i) => Date.now() - calls * gapMs + i * gapMs);
  return store.quota.update(MDE_APIS[n % MDE_APIS.length], () => ({
    next: { shares: [{ holder: `holder-${n}`, stamps, held: 1 }], pausedUntil: 0 },
    result: undefined,
  }));
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export async function run(): Promise<void> {
  const azurite = await startAzurite();
  try {
    const store = new TableStateStore({
      kind: 'connection-string',
      connectionString: azurite.connectionString,
    });
    const lines = [`store: ${OPERATIONS} sequential operations each against Azurite (in memory, loopback)`];
    for (const [index, [name, operation]] of Object.entries(OPERATIONS_MEASURED).entries()) {
      // Every operation of the run gets its own device, request and action.
      const first = index * (WARM_UP + OPERATIONS);
      for (let i = 0; i < WARM_UP; i += 1) await operation(store, first + i);
      const times: number[] = [];
      for (let i = WARM_UP; i < WARM_UP + OPERATIONS; i += 1) {
        const started = performance.now();
        await operation(store, first + i);
        times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      lines.push(
        `  ${name.padEnd(36)} p50 ${percentile(times, 50).toFixed(2)} ms   p99 ${percentile(times, 99).toFixed(2)} ms`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n\n`);
  } finally {
    await azurite.stop();
  }
}
