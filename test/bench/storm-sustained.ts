/**
 * The sustained-arrival storm (`npm run bench -- storm-sustained`, and last in `storm`): the alerts of
 * the burst storm (ten per device) arrive over half the quota-optimal makespan instead of at once, and
 * MDE's actions last tens of seconds (Pending 5 s, InProgress 15 s on the bench's clock), so tracking
 * runs for the whole storm beside the isolations and the pre-POST checks. For 1,500, 2,000 and 3,000
 * devices it prints: makespan of the isolate POSTs over the quota-optimal one (no headroom; target
 * ≤ 1.05), machineactions calls per isolated device split into history reads, tracking lists and gets
 * by id (target ≤ 0.2), the history reads split by purpose (a machine's pre-POST check, or a late
 * alert's check that its device's isolation is still in force), p50/p99 alert→isolate POST, 429s
 * (target 0) and duplicate POSTs (0).
 */
import { setTimeout as sleep, setImmediate as yieldToIo } from 'node:timers/promises';
import { parseRateLimits } from '../../shared/config';
import type { OutcomeRecord } from '../../shared/dispatch/outcome';
import { quotaOptimalSpanMs } from '../../shared/dispatch/quota/optimum';
import { compressTiming } from '../../shared/dispatch/timing';
import { loadPolicy } from '../../shared/policy/load';
import { createRuntime } from '../../shared/runtime';
import type { RecordedCall } from '../../simulator';
import { startSimulatorWithIdentity } from '../support/simulator';
import { DEFAULT_SPEEDUP, stormOptions } from './options';
import { describeLoad, startLoadMeter } from './process-load';
import { ALERTS_PER_DEVICE, POLICY, rateLimitsAt, stormAlerts } from './storm';

/** Alerts per intake call. */
const BATCH = 50;
/** The alerts come over this share of the quota-optimal makespan: faster than the quota allows. */
const ARRIVAL_SHARE = 0.5;
/** How long MDE takes over an action, on the bench's clock. */
const SUSTAINED_LIFECYCLE = { pendingMs: 5_000, inProgressMs: 15_000 };

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** The nearest-rank percentile `p` (0–100) of `values`. */
function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * The history reads (the machineactions lists naming machines; tracking's status lists name none),
 * each shared out among the machines it names by when it was sent: before a machine's isolate POST it
 * was that machine's pre-POST check, after it a late alert's check that the isolation is still in
 * force (isolation-in-force.ts).
 */
function historyReads(calls: RecordedCall[]) {
  const postedAt = new Map<string, number>();
  for (const c of calls) {
    const posted = /^\/api\/machines\/([^/]+)\/isolate/.exec(c.path);
    if (posted && c.method === 'POST' && c.status === 201 && !postedAt.has(posted[1].toLowerCase()))
      postedAt.set(posted[1].toLowerCase(), c.timeMs);
  }
  const figures = { reads: 0, beforePost: 0, afterPost: 0, beforePostMachines: 0, afterPostMachines: 0 };
  for (const c of calls) {
    if (c.api !== 'machineactions' || !c.path.includes('machineId')) continue;
    const filter = new URL(c.path, 'http://x').searchParams.get('$filter') ?? '';
    const machines = [...filter.matchAll(/machineId eq '([^']+)'/g)].map((m) => m[1].toLowerCase());
    figures.reads += 1;
    for (const machine of machines) {
      const after = (postedAt.get(machine) ?? Number.POSITIVE_INFINITY) < c.timeMs;
      if (after) {
        figures.afterPost += 1 / machines.length;
        figures.afterPostMachines += 1;
      } else {
        figures.beforePost += 1 / machines.length;
        figures.beforePostMachines += 1;
      }
    }
  }
  return figures;
}

/**
 * Alerts arriving over time while earlier actions are still followed: whether tracking and the
 * pre-POST checks leave the isolate quota usable, and what they cost in machineactions calls.
 */
export async function sustainedScenario(devicesCount: number, speedup = DEFAULT_SPEEDUP): Promise<void> {
  const RATE_LIMITS = rateLimitsAt(speedup);
  const alertsCount = ALERTS_PER_DEVICE * devicesCount;
  const headroom = process.env.MDE_RATE_HEADROOM;
  const sim = await startSimulatorWithIdentity({
    fleet: { curated: false, generate: devicesCount, offlineShare: 0 },
    rateLimits: RATE_LIMITS,
    lifecycle: SUSTAINED_LIFECYCLE,
  });
  const outcomes: OutcomeRecord[] = [];
  const policy = loadPolicy({ kind: 'inline', text: JSON.stringify(POLICY) }, null);
  const runtime = createRuntime({
    env: {
      ...sim.env(),
      MDE_RATE_LIMITS: RATE_LIMITS,
      ...(headroom === undefined ? {} : { MDE_RATE_HEADROOM: headroom }),
      MDE_REQUEST_TIMEOUT_MS: '3000',
    },
    policy,
    timing: compressTiming(2 / speedup),
    concurrency: 32,
    maxConcurrentCalls: 16,
    reporter: { outcome: (record) => outcomes.push(record), note: () => undefined },
  });
  try {
    const { alerts } = stormAlerts(sim, alertsCount);
    const optimum = quotaOptimalSpanMs(devicesCount, parseRateLimits(RATE_LIMITS));
    const arrivalMs = ARRIVAL_SHARE * optimum;
    const meter = startLoadMeter();
    const started = Date.now();
    for (let i = 0; i < alerts.length; i += BATCH) {
      const due = started + (i / alerts.length) * arrivalMs;
      if (due > Date.now()) await sleep(due - Date.now());
      await runtime.receiveAlerts(alerts.slice(i, i + BATCH));
      await yieldToIo();
    }
    await runtime.inline?.idle();
    const totalMs = Date.now() - started;
    const load = meter.stop();

    const calls = sim.calls();
    const postTimes = calls
      .filter((c) => c.api === 'isolate' && c.method === 'POST' && c.status === 201)
      .map((c) => c.timeMs);
    const isolateActions = sim.actions().filter((a) => a.type === 'Isolate');
    const devicesWithAction = new Set(isolateActions.map((a) => a.machineId)).size;
    const isolated = sim.machines().filter((m) => sim.machineState(m.id)?.isolated).length;
    const makespan = Math.max(...postTimes) - Math.min(...postTimes);
    const machineactions = calls.filter((c) => c.api === 'machineactions');
    const byStatus = (status: number) => machineactions.filter((c) => c.status === status).length;
    const gets = machineactions.filter((c) => /^\/api\/machineactions\/[^/?]+/.test(c.path)).length;
    const checks = historyReads(calls);
    const waits = outcomes
      .filter((o) => o.timings.receivedToPostedMs !== null && !o.adopted)
      .map((o) => o.timings.receivedToPostedMs as number);
    const lines = [
      `storm (sustained arrival): ${alertsCount} alerts over ${seconds(arrivalMs)}, ${devicesCount} devices, quota ${RATE_LIMITS} (${speedup}× real time), actions ${seconds(SUSTAINED_LIFECYCLE.pendingMs)} Pending + ${seconds(SUSTAINED_LIFECYCLE.inProgressMs)} InProgress, headroom ${runtime.config.rateHeadroom}`,
      `  isolate actions in MDE ${isolateActions.length} on ${devicesWithAction} devices; devices isolated at the end ${isolated}; duplicate POSTs ${isolateActions.length - devicesWithAction}`,
      `  makespan of isolate POSTs ${seconds(makespan)}; quota-optimal ${seconds(optimum)}; ratio ${(makespan / optimum).toFixed(3)}`,
      `  machineactions calls ${machineactions.length} (history reads ${checks.reads}, tracking lists ${machineactions.length - gets - checks.reads}, gets by id ${gets}; 429s ${byStatus(429)}); per isolated device ${(machineactions.length / Math.max(1, isolated)).toFixed(3)}`,
      `  history reads by purpose, a read shared by its machines: before the machine's isolate POST ${checks.beforePost.toFixed(1)} (${checks.beforePostMachines} machines named), after it (a late alert's in-force check) ${checks.afterPost.toFixed(1)} (${checks.afterPostMachines} machines named)`,
      `  machines calls per isolated device ${(calls.filter((c) => c.api === 'machines').length / Math.max(1, isolated)).toFixed(3)}`,
      `  alert→isolate POST p50 ${seconds(percentile(waits, 50))}, p99 ${seconds(percentile(waits, 99))}; 429s received (all APIs) ${calls.filter((c) => c.status === 429).length}`,
      `  everything ended after ${seconds(totalMs)}; dead letters ${runtime.inline?.deadLetters.length ?? 0}`,
      `  ${describeLoad(load)}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n\n`);
  } finally {
    await runtime.close();
    await sim.close();
  }
}

/** The sustained-arrival scenario at every size. */
export async function run(args: string[] = []): Promise<void> {
  const { speedup, devices } = stormOptions(args);
  for (const count of devices) await sustainedScenario(count, speedup);
}
