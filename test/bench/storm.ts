/**
 * `npm run bench -- storm`: an alert storm through the whole pipeline against the simulator, which
 * enforces the same time-compressed quotas the app is given. Ten alerts per device name 1,500, 2,000
 * and 3,000 devices (mixed severities, duplicates, a share of devices known only by DNS name or short
 * host name), under a policy that isolates every one of them: on either side of the hour window's
 * 1,500 calls. Run on a clean API at each size, and once with fault injection at 2,000. The app runs
 * with its default headroom, or `MDE_RATE_HEADROOM` when set in the bench's environment.
 *
 * Figures: isolate POSTs (must equal the devices), duplicate POSTs (must be 0), 429s (must be 0),
 * makespan of the isolate POSTs over the quota-optimal makespan (see shared/dispatch/quota/optimum.ts: the full
 * quota, no headroom; target ≤ 1.10, and a headroom h may add at most its fraction, ÷ (1 − h)),
 * mean time from alert to isolate POST for high and low severity, retries, dead letters, peak memory.
 * The simulator runs in the same process, so memory and CPU include it. Each scenario prints the
 * process's CPU share and event-loop delay beside its figures, and says when the run was CPU-bound
 * (process-load.ts). Parameters (options.ts): `--speedup` (default 25), `--devices`, `--arrival`.
 */
import { setImmediate as yieldToIo } from 'node:timers/promises';
import { parseRateLimits } from '../../shared/config';
import type { OutcomeRecord } from '../../shared/dispatch/outcome';
import { quotaOptimalSpanMs } from '../../shared/dispatch/quota/optimum';
import { compressTiming } from '../../shared/dispatch/timing';
import { loadPolicy } from '../../shared/policy/load';
import { createRuntime } from '../../shared/runtime';
import type { StateStore } from '../../shared/state/store';
import type { FaultOptions, RunningSimulator } from '../../simulator';
import { seededRandom } from '../../simulator/random';
import { mdeAlert } from '../support/alert-payloads';
import { startSimulatorWithIdentity } from '../support/simulator';
import { DEFAULT_SPEEDUP, stormOptions } from './options';
import { describeLoad, startLoadMeter } from './process-load';

export const ALERTS_PER_DEVICE = 10;

/** The documented quotas, `speedup` times faster. */
export function rateLimitsAt(speedup: number): string {
  return `100/${60_000 / speedup}ms,1500/${3_600 / speedup}s`;
}
const SEVERITIES = ['High', 'Medium', 'Low'] as const;
/** Alerts per intake call; the worker runs between calls, as with HTTP requests arriving. */
const BATCH = 50;

export const POLICY = {
  version: 'bench-storm-1',
  mode: 'enforce',
  rules: [{ name: 'isolate-all', minSeverity: 'low', action: 'isolate', isolationType: 'Full' }],
  defaultAction: 'skip',
  blastRadius: { maxDevicesPerAlert: 10, maxIsolations: 100_000, windowMinutes: 60 },
};

interface Device {
  id: string;
  dnsName: string;
  severity: (typeof SEVERITIES)[number];
  /** How the device's alerts name it: most by MDE id, some only by name (a lookup). */
  naming: 'id' | 'fqdn' | 'host';
}

export function stormAlerts(
  sim: RunningSimulator,
  count: number,
): { devices: Device[]; alerts: unknown[]; machineIdOf: string[] } {
  const random = seededRandom(42);
  const devices: Device[] = sim.machines().map((m) => {
    const roll = random.next();
    return {
      id: m.id,
      dnsName: m.computerDnsName as string,
      severity: random.pick(SEVERITIES),
      naming: roll < 0.7 ? 'id' : roll < 0.9 ? 'fqdn' : 'host',
    };
  });
  const alerts: unknown[] = [];
  const machineIdOf: string[] = [];
  for (let i = 0; i < count; i += 1) {
    // The first round names every device once; the rest are duplicates at random.
    const device = i < devices.length ? devices[i] : random.pick(devices);
    const byName = device.naming === 'fqdn' ? device.dnsName : device.dnsName.split('.')[0];
    machineIdOf.push(device.id);
    alerts.push(
      mdeAlert(
        {
          machineId: device.naming === 'id' ? device.id : undefined,
          dnsName: device.naming === 'id' ? device.dnsName : byName,
        },
        {
          severity: device.severity,
          title: 'Ransomware behavior detected',
          incidentId: 90_000 + (i % 5_000),
        },
      ),
    );
  }
  // Shuffle so severities and duplicates arrive interleaved.
  for (let i = alerts.length - 1; i > 0; i -= 1) {
    const j = random.int(0, i);
    [alerts[i], alerts[j]] = [alerts[j], alerts[i]];
    [machineIdOf[i], machineIdOf[j]] = [machineIdOf[j], machineIdOf[i]];
  }
  return { devices, alerts, machineIdOf };
}

const mean = (values: number[]) =>
  values.length ? values.reduce((a, b) => a + b, 0) / values.length : Number.NaN;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** What a scenario measured that another compares against. */
export interface StormFigures {
  makespanMs: number;
  ratio: number;
  requests: number;
  devicesIsolated: number;
}

export async function scenario(
  name: string,
  devicesCount: number,
  faults: FaultOptions | undefined,
  store?: StateStore,
  speedup = DEFAULT_SPEEDUP,
): Promise<StormFigures> {
  const alertsCount = ALERTS_PER_DEVICE * devicesCount;
  const rateLimits = rateLimitsAt(speedup);
  const headroom = process.env.MDE_RATE_HEADROOM;
  const sim = await startSimulatorWithIdentity({
    fleet: { curated: false, generate: devicesCount, offlineShare: 0 },
    rateLimits,
    lifecycle: { pendingMs: 5_000 / speedup, inProgressMs: 10_000 / speedup },
    faults,
  });
  const outcomes: OutcomeRecord[] = [];
  const notes: Record<string, number> = {};
  const policy = loadPolicy({ kind: 'inline', text: JSON.stringify(POLICY) }, null);
  const runtime = createRuntime({
    env: {
      ...sim.env(),
      MDE_RATE_LIMITS: rateLimits,
      ...(headroom === undefined ? {} : { MDE_RATE_HEADROOM: headroom }),
      MDE_REQUEST_TIMEOUT_MS: '3000',
    },
    policy,
    // At the default speedup seconds become 20 ms: the first tracking poll lands after the simulated
    // action ended.
    timing: compressTiming(2 / speedup),
    concurrency: 32,
    maxConcurrentCalls: 16,
    store,
    reporter: {
      outcome: (record) => outcomes.push(record),
      note: (_level, record) => {
        notes[String(record.event)] = (notes[String(record.event)] ?? 0) + 1;
      },
    },
  });
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 50);
  try {
    const { devices, alerts } = stormAlerts(sim, alertsCount);
    const queued: string[] = [];
    const meter = startLoadMeter();
    const intakeCpu = process.cpuUsage();
    const started = Date.now();
    for (let i = 0; i < alerts.length; i += BATCH) {
      const result = await runtime.receiveAlerts(alerts.slice(i, i + BATCH));
      for (const alert of result.alerts)
        if (alert.status === 'accepted')
          queued.push(...alert.requests.filter((r) => !r.duplicate).map((r) => r.requestId));
      // Let the worker run while intake goes on, as it would with HTTP requests arriving.
      await yieldToIo();
    }
    const intakeMs = Date.now() - started;
    const intakeCpuUsed = process.cpuUsage(intakeCpu);
    const intakeCpuMsPerAlert = (intakeCpuUsed.user + intakeCpuUsed.system) / 1_000 / alertsCount;
    await runtime.inline?.idle();
    const totalMs = Date.now() - started;
    const load = meter.stop();

    const calls = sim.calls();
    const isolatePosts = calls.filter((c) => c.api === 'isolate' && c.method === 'POST' && c.status === 201);
    const isolateActions = sim.actions().filter((a) => a.type === 'Isolate');
    const perMachine = new Map<string, number>();
    for (const action of isolateActions)
      perMachine.set(action.machineId, (perMachine.get(action.machineId) ?? 0) + 1);
    const duplicatePosts = [...perMachine.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0);
    const isolatedDevices = devices.filter((d) => sim.machineState(d.id)?.isolated).length;
    const postTimes = isolatePosts.map((c) => c.timeMs);
    const makespan = Math.max(...postTimes) - Math.min(...postTimes);
    const optimum = quotaOptimalSpanMs(isolateActions.length, parseRateLimits(rateLimits));
    const posted = outcomes.filter((o) => o.timings.receivedToPostedMs !== null && !o.adopted);
    const ttiBy = (severity: string) =>
      mean(
        posted
          .filter((o) => o.alert.severity === severity)
          .map((o) => o.timings.receivedToPostedMs as number),
      );
    const endedOnce = queued.every((id) => outcomes.filter((o) => o.requestId === id).length === 1);
    const byOutcome: Record<string, number> = {};
    for (const o of outcomes) byOutcome[o.outcome] = (byOutcome[o.outcome] ?? 0) + 1;

    const lines = [
      `storm (${name}): ${alertsCount} alerts, ${devicesCount} devices, quota ${rateLimits} on both sides (${speedup}× real time), headroom ${runtime.config.rateHeadroom}`,
      `  requests queued ${queued.length} (duplicates collapsed at intake: ${alertsCount - queued.length}); outcomes ${JSON.stringify(byOutcome)}`,
      `  isolate POSTs accepted ${isolatePosts.length}; isolate actions in MDE ${isolateActions.length} on ${perMachine.size} devices (policy isolates ${devicesCount}); devices isolated at the end ${isolatedDevices}`,
      `  duplicate POSTs ${duplicatePosts}; 429s received ${calls.filter((c) => c.status === 429).length}`,
      `  per isolated device: machines calls ${(calls.filter((c) => c.api === 'machines').length / Math.max(1, isolatedDevices)).toFixed(3)}, machineactions calls ${(calls.filter((c) => c.api === 'machineactions').length / Math.max(1, isolatedDevices)).toFixed(3)}`,
      `  makespan of isolate POSTs ${seconds(makespan)}; quota-optimal ${seconds(optimum)}; ratio ${(makespan / optimum).toFixed(3)}`,
      `  mean alert→isolate POST: high ${seconds(ttiBy('high'))}, medium ${seconds(ttiBy('medium'))}, low ${seconds(ttiBy('low'))}`,
      `  intake of all alerts ${seconds(intakeMs)} (process CPU ${intakeCpuMsPerAlert.toFixed(2)} ms per alert, the worker's beside it included); everything ended after ${seconds(totalMs)}`,
      `  retries ${notes['isolation-retry'] ?? 0}; deferrals ${notes['isolation-deferred'] ?? 0}; tracking polls rescheduled ${notes['isolation-tracking'] ?? 0}; dead letters ${runtime.inline?.deadLetters.length ?? 0}`,
      `  injected failures seen: ${calls.filter((c) => c.status === null || (c.status ?? 0) >= 500).length}; every queued request ended exactly once: ${endedOnce}`,
      `  ${describeLoad(load)}`,
      `  peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB (sampled), maxRSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (process, includes the simulator)`,
    ];
    process.stdout.write(`${lines.join('\n')}\n\n`);
    return {
      makespanMs: makespan,
      ratio: makespan / optimum,
      requests: queued.length,
      devicesIsolated: isolatedDevices,
    };
  } finally {
    clearInterval(sampler);
    await runtime.close();
    await sim.close();
  }
}

/** The burst scenario at each size, and (unless sizes are given) a burst with faults injected. */
export async function run(args: string[] = []): Promise<void> {
  const { speedup, devices } = stormOptions(args);
  for (const count of devices) await scenario('clean API', count, undefined, undefined, speedup);
  if (args.includes('--devices')) return;
  await scenario(
    'fault injection',
    2_000,
    { seed: 9, serverErrorRate: 0.03, latencyMs: 3, dropRate: 0.01, dropAfterExecuteRate: 0.02 },
    undefined,
    speedup,
  );
}
