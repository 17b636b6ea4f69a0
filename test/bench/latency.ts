/**
 * `npm run bench -- latency`: how long an alert waits for its isolate POST when the quota does not
 * hold it back (a simulator and a budget far above what the run spends), inline as the CLI and
 * `func start` run: one alert at a time, then 16 messages in flight (as many as the worker handles at
 * once). Prints p50 and p99 of alert → isolate POST (the outcome's `receivedToPostedMs`; target p99
 * ≤ 100 ms) and the run's CPU time, as a share of a core and per alert (the simulator's included: it
 * runs in the process), with the load of the machine at the start.
 */
import { loadavg } from 'node:os';
import type { OutcomeRecord } from '../../shared/dispatch/outcome';
import { compressTiming, DEFAULT_TIMING } from '../../shared/dispatch/timing';
import { MESSAGES_AT_ONCE } from '../../shared/dispatch/transport/service-bus-settings';
import { loadPolicy } from '../../shared/policy/load';
import { createRuntime } from '../../shared/runtime';
import { mdeAlert } from '../support/alert-payloads';
import { startSimulatorWithIdentity } from '../support/simulator';
import { POLICY } from './storm';

/** Far above what a run spends: nothing waits for budget. */
const UNTHROTTLED = '100000/60s,1000000/1h';
const ROUNDS = 20;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function scenario(name: string, inFlight: number): Promise<void> {
  const devices = inFlight * ROUNDS;
  const sim = await startSimulatorWithIdentity({
    fleet: { curated: false, generate: devices, offlineShare: 0 },
    rateLimits: UNTHROTTLED,
    lifecycle: { pendingMs: 5, inProgressMs: 5 },
  });
  const outcomes: OutcomeRecord[] = [];
  const runtime = createRuntime({
    env: { ...sim.env(), MDE_RATE_LIMITS: UNTHROTTLED, MDE_REQUEST_TIMEOUT_MS: '5000' },
    policy: loadPolicy({ kind: 'inline', text: JSON.stringify(POLICY) }, null),
    // Tracking ends within milliseconds; the product's own waits (the history read's gathering
    // time) stay as deployed.
    timing: { ...compressTiming(0.001), historyGatherMs: DEFAULT_TIMING.historyGatherMs },
    reporter: { outcome: (record) => outcomes.push(record), note: () => undefined },
  });
  const load = loadavg()[0];
  const cpu = process.cpuUsage();
  const started = Date.now();
  try {
    const machines = sim.machines();
    for (let round = 0; round < ROUNDS; round += 1) {
      const batch = machines.slice(round * inFlight, (round + 1) * inFlight);
      await runtime.receiveAlerts(batch.map((m) => mdeAlert({ machineId: m.id })));
      await runtime.inline?.idle();
    }
    const waits = outcomes
      .filter((o) => o.timings.receivedToPostedMs !== null)
      .map((o) => o.timings.receivedToPostedMs as number);
    const used = process.cpuUsage(cpu);
    const cpuMs = (used.user + used.system) / 1000;
    const cpuShare = cpuMs / (Date.now() - started);
    process.stdout.write(
      `latency (${name}): ${waits.length} alerts, ${inFlight} at a time, quota ${UNTHROTTLED}\n` +
        `  alert→isolate POST p50 ${percentile(waits, 50)} ms, p99 ${percentile(waits, 99)} ms; ` +
        `CPU ${(cpuShare * 100).toFixed(0)} % of a core, ${(cpuMs / devices).toFixed(1)} ms per alert ` +
        `(simulator included); load average at start ${load.toFixed(2)}\n\n`,
    );
  } finally {
    await runtime.close();
    await sim.close();
  }
}

export async function run(): Promise<void> {
  await scenario('inline, one alert at a time', 1);
  await scenario(`inline, ${MESSAGES_AT_ONCE} messages in flight`, MESSAGES_AT_ONCE);
}
