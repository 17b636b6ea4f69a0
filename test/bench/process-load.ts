/**
 * What a storm bench's own process spent while it ran: its CPU share (`process.cpuUsage()` over wall
 * time, in cores) and the event loop's delay (p99, `monitorEventLoopDelay`). A run whose process had
 * no spare core measures this machine, not the app: its quota-optimal ratios are not the product's.
 * https://nodejs.org/api/perf_hooks.html#perf_hooksmonitoreventloopdelayoptions
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** At or above this share of one core the process ran short of CPU (it shares 2 cores with others). */
export const CPU_BOUND_SHARE = 0.5;
/** Above this p99 event-loop delay the app's own timers ran late (the issue 27 quiet runs stayed under). */
export const CPU_BOUND_LOOP_P99_MS = 27;

export interface ProcessLoad {
  /** CPU time over wall time: 1 is one core busy the whole run. */
  cpuShare: number;
  loopDelayP99Ms: number;
  cpuBound: boolean;
}

export interface LoadMeter {
  stop(): ProcessLoad;
}

export function startLoadMeter(): LoadMeter {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  return {
    stop: () => {
      loop.disable();
      const used = process.cpuUsage(cpu);
      const wallMs = Math.max(1, performance.now() - started);
      const cpuShare = (used.user + used.system) / 1_000 / wallMs;
      const loopDelayP99Ms = loop.percentile(99) / 1e6;
      return {
        cpuShare,
        loopDelayP99Ms,
        cpuBound: cpuShare >= CPU_BOUND_SHARE || loopDelayP99Ms > CPU_BOUND_LOOP_P99_MS,
      };
    },
  };
}

/** One line for a bench's figures: the load, and whether it makes the run CPU-bound. */
export function describeLoad(load: ProcessLoad): string {
  const verdict = load.cpuBound
    ? `CPU-BOUND (≥ ${CPU_BOUND_SHARE * 100} % of a core or p99 > ${CPU_BOUND_LOOP_P99_MS} ms): figures measure this machine`
    : 'not CPU-bound';
  return `process CPU ${(load.cpuShare * 100).toFixed(1)} % of a core, event-loop delay p99 ${load.loopDelayP99Ms.toFixed(1)} ms; ${verdict}`;
}
