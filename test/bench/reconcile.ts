/**
 * `npm run bench -- reconcile`: one reconciliation of 100, 1,000 and 5,000 isolations in force, on
 * the worker through the whole runtime (throttled client, simulator on loopback with MDE's page size
 * of 10,000 and its quota, the embedded store), a tenth of them released by an analyst. Figures: the
 * machineactions calls it made, actions read per call (target: at least 500), its share of the
 * machineactions hour budget (1,500 calls; target: at most 10 %), and its wall time. The embedded
 * store leaves out Table Storage's latency: the store bench (`npm run bench -- store`) gives that per
 * operation (a reconciliation reads the register by pages of 1,000 and writes one record per drift and
 * one per isolation in force it confirms: `confirmedAt`).
 */
import { performance } from 'node:perf_hooks';
import { loadPolicy } from '../../shared/policy/load';
import { parseReport } from '../../shared/reconcile/report';
import { createRuntime } from '../../shared/runtime';
import { InMemoryStateStore } from '../../shared/state/memory';
import { isolationsInForce } from '../support/isolations-in-force';
import { startSimulatorWithIdentity } from '../support/simulator';

const SIZES = [100, 1_000, 5_000];
const HOUR_BUDGET = 1_500;

async function reconcileOnce(size: number): Promise<string> {
  const sim = await startSimulatorWithIdentity({
    fleet: { curated: false, generate: size, offlineShare: 0 },
  });
  const store = new InMemoryStateStore();
  const runtime = createRuntime({
    env: sim.env(),
    mode: 'inline',
    store,
    policy: loadPolicy({ kind: 'default' }, 'dry-run', 'follow'),
    reporter: { outcome: () => undefined, note: () => undefined },
  });
  try {
    const machines = sim.machines().map((m) => m.id);
    await isolationsInForce(sim, store, machines);
    sim.advanceTime(60_000);
    for (const id of machines.filter((_, i) => i % 10 === 0))
      sim.portalAction(id, 'Unisolate', { requestor: 'analyst@contoso.com', comment: 'released' });
    sim.advanceTime(60_000);
    await runtime.waitForIdle(60_000);
    sim.resetCalls();
    const started = performance.now();
    await runtime.requestReconciliation('bench');
    await runtime.waitForIdle(600_000);
    const seconds = (performance.now() - started) / 1000;
    const calls = sim.calls().filter((c) => c.api === 'machineactions').length;
    const report = parseReport(await store.drift.latest());
    if (!report) throw new Error('no report');
    return [
      String(size).padStart(6),
      String(report.actionsRead).padStart(8),
      String(calls).padStart(6),
      String(Math.round(report.actionsRead / Math.max(calls, 1))).padStart(10),
      `${((100 * calls) / HOUR_BUDGET).toFixed(2)} %`.padStart(9),
      String(report.driftCount).padStart(7),
      `${seconds.toFixed(2)} s`.padStart(9),
    ].join('  ');
  } finally {
    await runtime.close();
    await sim.close();
  }
}

export async function run(): Promise<void> {
  process.stdout.write('reconciliation: isolations in force, machineactions calls, wall time\n');
  process.stdout.write(' in force  actions  calls  read/call  hour budget  drifts    seconds\n');
  for (const size of SIZES) process.stdout.write(`${await reconcileOnce(size)}\n`);
}
